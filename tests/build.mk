# tests/build.mk: (filled in by the tests work)
# lunik.http's parser and responses over a scripted conn, under plain lua5.4.
TEST_PROGS += tests/unit/http_test.t

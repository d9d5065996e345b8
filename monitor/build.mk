# monitor/build.mk: (filled in by the monitor work)

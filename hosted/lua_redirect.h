/* lua_redirect.h: (filled in by the hosted target work) */

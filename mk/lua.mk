# lib/lua: the LuaJIT sandbox (docs/plugins.md).  Every binary that links
# lib/ links LuaJIT with it.  The flags are Debian's libluajit2-5.1-dev's,
# named here too since make reads this file before `make test` has
# installed the package on a fresh machine.

LUAJIT_CFLAGS := $(or $(shell pkg-config --cflags luajit 2>/dev/null),\
                      -I/usr/include/luajit-2.1)
LUAJIT_LIBS   := $(or $(shell pkg-config --libs luajit 2>/dev/null),\
                      -lluajit-5.1)

GW_CFLAGS += -Ilib/lua $(LUAJIT_CFLAGS)
GW_LIBS   += $(LUAJIT_LIBS) -lpthread

# the plugin runtime's cost against bare nginx and lua-nginx-module, in
# one run (scripts/bench-plugins.sh), part of `make bench`
.PHONY: bench-plugins

bench-plugins: module
	@scripts/bench-plugins.sh

bench: bench-plugins

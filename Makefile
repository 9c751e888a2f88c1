# natter: natterd (IRC server, server/) and natter (curses client, tui/).
#
#   make            build server/natterd (and tui/natter once tui/*.c exists)
#   make run        install missing build deps, build, start natterd on a free
#                   loopback port and open natter in #lobby
#   make check      install missing deps, build normal + ASan + TSan, run every suite
#   make asan       build/asan/natterd, build/asan/natter and build/asan/tests/test_*
#                   (ASan + UBSan)
#   make tsan       build/tsan/natterd (ThreadSanitizer)
#   make install    PREFIX=/usr/local DESTDIR= (both honoured); the help
#                   file goes to DATADIR ($(PREFIX)/share/natterd)
#   make deps       apt-get install whatever the build and tests need, if missing
#
# Local overrides go in config.mk (not tracked), e.g. CC = clang.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# natterd's help file (HELP, HELPOP) goes here; natterd looks for it
# there unless given --help-file.
DATADIR ?= $(PREFIX)/share/natterd

PKG_CONFIG ?= pkg-config
INSTALL ?= install

# Optimisation and debug flags; override freely (make CFLAGS=-O0).
CFLAGS ?= -O2 -g

-include config.mk

# Flags every build needs; not meant to be overridden.  _GNU_SOURCE: the
# server uses pthread_setname_np, ppoll and crypt_gensalt.
NATTER_CPPFLAGS = -D_GNU_SOURCE -Ishared
WARNFLAGS = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wwrite-strings

# -Werror in CI (CI=true in the environment) or with WERROR=1.
WERROR ?= $(if $(filter-out false 0 no,$(CI)),1,0)
ifeq ($(WERROR),1)
WARNFLAGS += -Werror
endif

BASE_CFLAGS = -std=c11 $(NATTER_CPPFLAGS) $(WARNFLAGS) -MMD -MP $(CPPFLAGS)

ASAN_CFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g \
	-DNATTERD_STACK_SIZE=262144
ASAN_LDFLAGS = -fsanitize=address,undefined
TSAN_CFLAGS = -fsanitize=thread -O1 -g -DNATTERD_STACK_SIZE=524288
TSAN_LDFLAGS = -fsanitize=thread

# Libraries.  Recursive (=) so pkg-config only runs when a recipe needs it.
SQLITE_CFLAGS = $(shell $(PKG_CONFIG) --cflags sqlite3)
SQLITE_LIBS = $(shell $(PKG_CONFIG) --libs sqlite3)
# Every program links shared/, and shared/tls.c needs OpenSSL.
SSL_CFLAGS = $(shell $(PKG_CONFIG) --cflags openssl)
SSL_LIBS = $(shell $(PKG_CONFIG) --libs openssl)
# Password hashing: libargon2, the reference argon2 (server/passwd.c
# says why not libsodium).
ARGON2_LIBS = -largon2
# The web port (server/web.c): libhttp-parser parses the HTTP request,
# wslay frames WebSocket.
WEB_LIBS = -lhttp_parser -lwslay
SERVER_LIBS = -lpthread -lcrypt $(SQLITE_LIBS) $(SSL_LIBS) $(ARGON2_LIBS) \
	$(WEB_LIBS)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)
NCURSES_CFLAGS = $(shell $(PKG_CONFIG) --cflags ncursesw)
NCURSES_LIBS = $(shell $(PKG_CONFIG) --libs ncursesw)
TUI_LIBS = $(NCURSES_LIBS) -lpthread $(SSL_LIBS)

# Sources, by wildcard.
SHARED_SRC = $(wildcard shared/*.c)
SERVER_SRC = $(wildcard server/*.c)
TUI_SRC = $(wildcard tui/*.c)
# The client's curses-free model, which unit tests link.
TUI_APP_SRC = tui/natter.c tui/ui.c tui/net.c
TUI_MODEL_SRC = $(filter-out $(TUI_APP_SRC),$(TUI_SRC))
TEST_SRC = $(wildcard tests/test_*.c)

# The web chat's files, compiled into natterd (scripts/web-assets.sh).
WEB_FILES = $(sort $(wildcard web/*))
WEB_ASSETS_OBJ = build/web/assets.o

SERVER = server/natterd
CLIENT = $(if $(TUI_SRC),tui/natter)

# Normal build: objects in build/obj/<dir>/<file>.o.
OBJ = build/obj
SHARED_OBJ = $(SHARED_SRC:%.c=$(OBJ)/%.o)
SERVER_OBJ = $(SERVER_SRC:%.c=$(OBJ)/%.o)
TUI_OBJ = $(TUI_SRC:%.c=$(OBJ)/%.o)
TUI_MODEL_OBJ = $(TUI_MODEL_SRC:%.c=$(OBJ)/%.o)
TEST_OBJ = $(TEST_SRC:%.c=$(OBJ)/%.o)
TEST_BIN = $(TEST_SRC:tests/%.c=build/tests/%)

# Sanitizer builds: their own object folders.
ASAN_SHARED_OBJ = $(SHARED_SRC:%.c=build/asan/obj/%.o)
ASAN_SERVER_OBJ = $(SERVER_SRC:%.c=build/asan/obj/%.o)
ASAN_TUI_MODEL_OBJ = $(TUI_MODEL_SRC:%.c=build/asan/obj/%.o)
ASAN_TUI_OBJ = $(TUI_SRC:%.c=build/asan/obj/%.o)
ASAN_TEST_OBJ = $(TEST_SRC:%.c=build/asan/obj/%.o)
ASAN_TEST_BIN = $(TEST_SRC:tests/%.c=build/asan/tests/%)
TSAN_SHARED_OBJ = $(SHARED_SRC:%.c=build/tsan/obj/%.o)
TSAN_SERVER_OBJ = $(SERVER_SRC:%.c=build/tsan/obj/%.o)

ALL_OBJ = $(SHARED_OBJ) $(SERVER_OBJ) $(TUI_OBJ) $(TEST_OBJ) \
	$(ASAN_SHARED_OBJ) $(ASAN_SERVER_OBJ) $(ASAN_TEST_OBJ) \
	$(ASAN_TUI_MODEL_OBJ) $(ASAN_TUI_OBJ) \
	$(TSAN_SHARED_OBJ) $(TSAN_SERVER_OBJ)

.PHONY: all run check asan tsan tests bench install uninstall clean deps

all: $(SERVER) $(CLIENT)

# Extra compile flags per group of objects.
$(TEST_OBJ) $(ASAN_TEST_OBJ): XCFLAGS = $(CMOCKA_CFLAGS)
$(TUI_OBJ) $(ASAN_TUI_OBJ): XCFLAGS = $(NCURSES_CFLAGS)
$(OBJ)/server/store.o build/asan/obj/server/store.o \
    build/tsan/obj/server/store.o: XCFLAGS = $(SQLITE_CFLAGS)
# The compiled-in path of the help file.  build/datadir holds the
# DATADIR natterd.o was built for, rewritten when it changes, so that
# make install PREFIX=/usr after make rebuilds what it must.
$(OBJ)/server/natterd.o build/asan/obj/server/natterd.o \
    build/tsan/obj/server/natterd.o: \
    XCFLAGS = -DNATTERD_HELP_FILE='"$(DATADIR)/natterd.help"'
$(OBJ)/server/natterd.o build/asan/obj/server/natterd.o \
    build/tsan/obj/server/natterd.o: build/datadir

build/datadir: FORCE
	@mkdir -p $(@D)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' >$@

.PHONY: FORCE
$(OBJ)/tests/test_store.o build/asan/obj/tests/test_store.o \
    $(OBJ)/tests/test_account.o build/asan/obj/tests/test_account.o: \
    XCFLAGS = $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(XCFLAGS) -c $< -o $@

build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(ASAN_CFLAGS) $(XCFLAGS) -c $< -o $@

build/tsan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(TSAN_CFLAGS) $(XCFLAGS) -c $< -o $@

build/web/assets.S: $(WEB_FILES) scripts/web-assets.sh build/web/files
	@mkdir -p $(@D)
	sh scripts/web-assets.sh $@ $(WEB_FILES)

# The list of files, rewritten when it changes (a file removed).
build/web/files: FORCE
	@mkdir -p $(@D)
	@echo '$(WEB_FILES)' | cmp -s - $@ || echo '$(WEB_FILES)' >$@

$(WEB_ASSETS_OBJ): build/web/assets.S
	$(CC) -c $< -o $@

$(SERVER): $(SERVER_OBJ) $(SHARED_OBJ) $(WEB_ASSETS_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(LDLIBS)

tui/natter: $(TUI_OBJ) $(SHARED_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(TUI_LIBS) $(LDLIBS)

# Unit tests: each tests/test_*.c linked with every shared object and
# the client's model.
tests: $(TEST_BIN)

build/tests/%: $(OBJ)/tests/%.o $(SHARED_OBJ) $(TUI_MODEL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(SSL_LIBS) $(LDLIBS)

# The store's test links server/store.c alone, with SQLite; the other
# unit tests need neither.
build/tests/test_store: $(OBJ)/tests/test_store.o $(OBJ)/server/store.o \
    $(SHARED_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(SQLITE_LIBS) \
	    -lpthread $(SSL_LIBS) $(LDLIBS)

# The accounts' test links the account table, the hashing pool, SCRAM,
# read markers and the store they write through to, without the rest of
# the server.
ACCOUNT_TEST_SRC = server/account.c server/passwd.c server/scram.c \
	server/store.c server/map.c server/marker.c

build/tests/test_account: $(OBJ)/tests/test_account.o \
    $(ACCOUNT_TEST_SRC:%.c=$(OBJ)/%.o) $(SHARED_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(SQLITE_LIBS) \
	    -lpthread $(SSL_LIBS) $(ARGON2_LIBS) $(LDLIBS)

asan: build/asan/natterd $(if $(CLIENT),build/asan/natter) $(ASAN_TEST_BIN)

build/asan/natterd: $(ASAN_SERVER_OBJ) $(ASAN_SHARED_OBJ) $(WEB_ASSETS_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(ASAN_LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(LDLIBS)

# The client too: the TUI tests of suite e2e-asan run it (tests/check.sh).
build/asan/natter: $(ASAN_TUI_OBJ) $(ASAN_SHARED_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(ASAN_LDFLAGS) -o $@ $^ $(TUI_LIBS) $(LDLIBS)

build/asan/tests/%: build/asan/obj/tests/%.o $(ASAN_SHARED_OBJ) $(ASAN_TUI_MODEL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(ASAN_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) \
	    $(SSL_LIBS) $(LDLIBS)

build/asan/tests/test_store: build/asan/obj/tests/test_store.o \
    build/asan/obj/server/store.o $(ASAN_SHARED_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(ASAN_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) \
	    $(SQLITE_LIBS) -lpthread $(SSL_LIBS) $(LDLIBS)

build/asan/tests/test_account: build/asan/obj/tests/test_account.o \
    $(ACCOUNT_TEST_SRC:%.c=build/asan/obj/%.o) $(ASAN_SHARED_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(ASAN_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) \
	    $(SQLITE_LIBS) -lpthread $(SSL_LIBS) $(ARGON2_LIBS) $(LDLIBS)

tsan: build/tsan/natterd

build/tsan/natterd: $(TSAN_SERVER_OBJ) $(TSAN_SHARED_OBJ) $(WEB_ASSETS_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(TSAN_LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(LDLIBS)

# The link step's objects are intermediate to nothing: keep them.
.SECONDARY: $(ALL_OBJ)

# Starts natterd on the first free loopback port from 6667 and opens
# natter in #lobby; quitting the client stops the server.
run: deps
	$(MAKE) all
	sh scripts/run.sh

# The three builds in parallel, one job a core, unless make was given -j.
check: deps
	$(MAKE) $(if $(findstring j,$(filter-out --%,$(MAKEFLAGS))),,-j$(shell nproc)) all asan tsan tests
	bash tests/check.sh

# make bench: natterd against ngIRCd and InspIRCd (those installed), see
# tests/bench/run.sh; BENCH_QUICK=1 for a short run.  Not part of check.
bench: all
	@mkdir -p build/bench
	$(CC) -std=c11 -D_GNU_SOURCE $(WARNFLAGS) -O2 -g -o build/bench/loadgen tests/bench/loadgen.c -lcrypto
	bash tests/bench/run.sh

# make fuzz: libFuzzer targets in tests/fuzz/ (clang only), each run for
# FUZZ_SECONDS on a writable copy of its seed corpus in build/fuzz/;
# crash inputs land in build/fuzz/ and the target fails.  fuzz-short:
# 10 seconds each.  make check runs them for 10 seconds each too
# (tests/check.sh, suite fuzz).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g
FUZZ_TARGETS = irc frame
FUZZ_SHARED_OBJ = $(SHARED_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_BIN = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

.PHONY: fuzz fuzz-short

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_SHARED_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(LDFLAGS) -o $@ $^ $(SSL_LIBS)

fuzz: $(FUZZ_BIN)
	@rc=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus-$$t && \
		cp -p tests/fuzz/corpus_$$t/* build/fuzz/corpus-$$t/ && \
		echo "fuzz: fuzz_$$t for $(FUZZ_SECONDS)s" && \
		build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
		    -max_len=9000 -print_final_stats=1 \
		    -artifact_prefix=build/fuzz/$$t- \
		    build/fuzz/corpus-$$t || rc=1; \
	done; exit $$rc

fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=10

.SECONDARY: $(FUZZ_SHARED_OBJ) $(FUZZ_TARGETS:%=build/fuzz/obj/tests/fuzz/fuzz_%.o)
-include $(FUZZ_SHARED_OBJ:.o=.d) $(FUZZ_TARGETS:%=build/fuzz/obj/tests/fuzz/fuzz_%.d)

install: all
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 755 $(SERVER) $(DESTDIR)$(SBINDIR)/natterd
	$(INSTALL) -m 644 man/natterd.8 $(DESTDIR)$(MANDIR)/man8/natterd.8
	$(INSTALL) -d $(DESTDIR)$(DATADIR)
	$(INSTALL) -m 644 server/natterd.help $(DESTDIR)$(DATADIR)/natterd.help
	$(if $(CLIENT),$(INSTALL) -d $(DESTDIR)$(BINDIR))
	$(if $(CLIENT),$(INSTALL) -m 755 tui/natter $(DESTDIR)$(BINDIR)/natter)
	$(if $(wildcard man/natter.1),$(INSTALL) -d $(DESTDIR)$(MANDIR)/man1)
	$(if $(wildcard man/natter.1),$(INSTALL) -m 644 man/natter.1 $(DESTDIR)$(MANDIR)/man1/natter.1)

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/natterd $(DESTDIR)$(MANDIR)/man8/natterd.8
	rm -f $(DESTDIR)$(DATADIR)/natterd.help
	rmdir $(DESTDIR)$(DATADIR) 2>/dev/null || true
	rm -f $(DESTDIR)$(BINDIR)/natter $(DESTDIR)$(MANDIR)/man1/natter.1

clean:
	rm -rf build $(SERVER) tui/natter

# make deps: find what is missing, install only that (Debian packages).
# Silent but for one line when everything is present.
define DEPS_SCRIPT
missing=
need() { case " $$missing " in *" $$1 "*) ;; *) missing="$$missing $$1";; esac; }
have() { command -v "$$1" >/dev/null 2>&1; }
have make || need make
have pkg-config || need pkg-config
if have pkg-config; then
	pkg-config --exists cmocka || need libcmocka-dev
	pkg-config --exists sqlite3 || need libsqlite3-dev
	pkg-config --exists openssl || need libssl-dev
	pkg-config --exists ncursesw || need libncurses-dev
	pkg-config --exists libargon2 || need libargon2-dev
else
	need libcmocka-dev; need libsqlite3-dev; need libssl-dev; need libncurses-dev
	need libargon2-dev
fi
if have cc; then
	t=$$(mktemp -d)
	printf '#include <crypt.h>\nint main(void) { return crypt("a", "$$6$$a") == 0; }\n' >"$$t/c.c"
	cc -o "$$t/c" "$$t/c.c" -lcrypt >/dev/null 2>&1 || need libcrypt-dev
	printf 'int main(void) { return 0; }\n' >"$$t/s.c"
	cc -fsanitize=thread -o "$$t/t" "$$t/s.c" >/dev/null 2>&1 || need libtsan2
	cc -fsanitize=address,undefined -o "$$t/a" "$$t/s.c" >/dev/null 2>&1 || { need libasan8; need libubsan1; }
	rm -rf "$$t"
else
	need gcc; need libc6-dev; need libcrypt-dev
fi
have python3 || need python3
# The web port's libraries (no pkg-config files for these two).
[ -e /usr/include/http_parser.h ] || need libhttp-parser-dev
[ -e /usr/include/wslay/wslay.h ] || need libwslay-dev
# The web chat's tests drive a headless Chromium.
have chromium || need chromium
have chromedriver || need chromium-driver
# dpkg, not an import: python3 may be another Python than Debian's.
dpkg -s python3-selenium >/dev/null 2>&1 || need python3-selenium
have tmux || need tmux
have mandoc || need mandoc
have weechat-headless || need weechat-headless
# The client's TLS tests make a certificate for another name with it.
have openssl || need openssl
# The IPv6 per-IP tests put addresses in a private network namespace.
have ip || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need iproute2
# make check's short fuzz run: clang with its libFuzzer runtime.
have clang || need clang
if have clang; then
	t=$$(mktemp -d)
	printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$$t/f.c"
	clang -fsanitize=fuzzer,address -o "$$t/f" "$$t/f.c" >/dev/null 2>&1 || need libclang-rt-dev
	rm -rf "$$t"
else
	need libclang-rt-dev
fi
# The real-client test drives weechat through its fifo plugin.
ls /usr/lib/*/weechat/plugins/fifo.so >/dev/null 2>&1 || need weechat-plugins
# ngircd: the client's interoperability test runs it on a private port.
have ngircd || [ -x /usr/sbin/ngircd ] || { need ngircd; new_ngircd=1; }
if [ -z "$$missing" ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing$$missing"
sudo=
[ "$$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing || exit 1
# The tests start their own ngircd; the system service is not wanted.
if [ -n "$${new_ngircd:-}" ] && command -v systemctl >/dev/null 2>&1; then
	$$sudo systemctl disable --now ngircd >/dev/null 2>&1 || true
fi
endef
export DEPS_SCRIPT

deps:
	@sh -c "$$DEPS_SCRIPT"

-include $(ALL_OBJ:.o=.d)

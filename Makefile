# taskgate build. Plain GNU Make; one binary, build/taskgate.
#
#   make            build (calls `make deps` first)
#   make test       unit + integration tests; last line "N passed, N failed"
#   make run        gateway up with dev certificates, the SQLite store and a demo account;
#                   DRIVER=docker|process (default: docker if an engine answers)
#   make asan       the whole test suite under AddressSanitizer + UBSan (build/asan)
#   make fuzz       libFuzzer harnesses (clang), FUZZ_SECONDS per target
#   make bench      benchmarks, each printing a ratio against a baseline from the same run
#   make deps       install the Debian packages the build, the tests and the demo need
#
# BUILD selects the output folder, so that several builds (plain, asan, a helper's) never
# share objects.

BUILD ?= build
CC ?= cc
PKGS := openssl libjwt jansson libmicrohttpd sqlite3 gnutls

# Every Debian package the build, tests, demo, fuzzers and benchmarks need.
DEBS := build-essential pkg-config libssl-dev libjwt-dev libjansson-dev libmicrohttpd-dev \
        libsqlite3-dev libgnutls28-dev sqlite3 openssl curl ca-certificates \
        clang libclang-rt-dev awscli python3 python3-boto3 iproute2 procps \
        docker.io busybox-static

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla -Wformat=2
CFLAGS ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -I.
ALL_CFLAGS = -std=c17 $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) $(PKG_CFLAGS) -MMD -MP
LDLIBS += $(PKG_LIBS) -lpthread -lm
LDFLAGS += $(EXTRA_LDFLAGS)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CPPFLAGS += -DTASKGATE_VERSION='"$(VERSION)"'

# Modules, lowest first. Each is a static library of every .c in its folder;
# gateway/main.c is the binary's entry point and stays out of the library so
# unit tests can link the rest.
MODULES := policy store scheduler gateway
policy_SRC := $(wildcard policy/*.c)
store_SRC := $(wildcard store/*.c)
scheduler_SRC := $(wildcard scheduler/*.c)
gateway_SRC := $(filter-out gateway/main.c,$(wildcard gateway/*.c))

objs = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIBS := $(BUILD)/libgateway.a $(BUILD)/libscheduler.a $(BUILD)/libstore.a $(BUILD)/libpolicy.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BIN := $(patsubst tests/bench/%.c,$(BUILD)/tests/%,$(BENCH_SRC))

.PHONY: all deps test unit integration run asan fuzz bench clean format check-deps
.DEFAULT_GOAL := all
# Keep the objects of test and bench binaries (they are intermediates of pattern rules).
.SECONDARY:

all: deps $(BUILD)/taskgate $(UNIT_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

define module_lib
$(BUILD)/lib$(1).a: $$(call objs,$$($(1)_SRC))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_lib,$(m))))

$(BUILD)/taskgate: $(BUILD)/gateway/main.o $(LIBS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A unit test links only its own module and what that module may use, so the
# one-way dependency rule is checked at link time: test_policy_* sees policy/
# alone, test_store_* store/, test_sched_* scheduler/ and store/, test_gw_* all.
$(BUILD)/tests/test_policy%: $(BUILD)/tests/unit/test_policy%.o $(BUILD)/libpolicy.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_store%: $(BUILD)/tests/unit/test_store%.o $(BUILD)/libstore.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_sched%: $(BUILD)/tests/unit/test_sched%.o $(BUILD)/libscheduler.a $(BUILD)/libstore.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_gw%: $(BUILD)/tests/unit/test_gw%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/bench_%: $(BUILD)/tests/bench/bench_%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# deps: check every package with dpkg-query; install what is missing (root) or
# print the exact command (not root).
deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "deps: missing packages:$$missing"; \
	    echo "deps: run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

test: all
	@BUILD=$(BUILD) tests/run.sh

unit: all
	@BUILD=$(BUILD) tests/run.sh unit

integration: all
	@BUILD=$(BUILD) tests/run.sh integration

# Certificates, a config under var/ and the demo account, then the gateway in
# the foreground with this host in cluster "default" (see gateway/run-dev.sh).
# DRIVER=docker|process picks where tasks run; unset, Docker when an engine
# answers on /var/run/docker.sock (or TASKGATE_DRIVER from the environment).
DRIVER ?=
run: all
	@BUILD=$(BUILD) DRIVER="$(DRIVER)" gateway/run-dev.sh

asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD=build/asan \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" CFLAGS="-O1 -g" test

FUZZ_SECONDS ?= 60
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	  CFLAGS="-O1 -g" build/fuzz/libpolicy.a build/fuzz/libstore.a build/fuzz/libscheduler.a \
	  build/fuzz/libgateway.a
	@mkdir -p build/fuzz/bin
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -std=c17 -D_GNU_SOURCE -I. -O1 -g -fsanitize=fuzzer,address,undefined \
	    $(PKG_CFLAGS) $$f build/fuzz/libgateway.a build/fuzz/libscheduler.a build/fuzz/libpolicy.a \
	    build/fuzz/libstore.a \
	    $(PKG_LIBS) -lpthread -lm -o build/fuzz/bin/$$n || exit 1; \
	done
	@BUILD=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

bench: all $(BENCH_BIN)
	@BUILD=$(BUILD) tests/bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

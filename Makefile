# Makefile for stampede. `make` builds build/stampede; see `make help`.
BUILD    ?= build
CC       ?= gcc
PKGS     := lua5.4 jansson openssl zlib liburiparser libcares libbrotlidec libzstd libcurl sqlite3 gsl libmicrohttpd libnghttp2
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CFLAGS   += -std=gnu11 $(OPT) $(WARN) -pthread -D_GNU_SOURCE -MMD -MP \
            -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -luring -lwslay -lm -pthread
LDFLAGS  += $(EXTRA_LDFLAGS)
PYTEST   := /usr/bin/python3 -m pytest

SRCS     := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/cli/main.c,$(SRCS))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS:= $(sort $(wildcard tests/unit/*.c))
TEST_OBJS:= $(TEST_SRCS:%.c=$(BUILD)/%.o)
TOOLS    := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))
FUZZERS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/*.c))

.PHONY: all deps test unit e2e torture asan bench bench-peers fuzz fuzz-build demo demo-nginx clean format help image

all: $(BUILD)/stampede

deps:
	@./scripts/install-deps.sh

$(BUILD)/stampede: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libstampede.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/unit_tests: $(TEST_OBJS) $(BUILD)/libstampede.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

# small drivers the end-to-end tests run (e.g. tools/trend_cli against scipy)
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libstampede.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# `make test`: unit tests (Criterion), then end-to-end tests (pytest); ends with both summaries.
test: deps
	@$(MAKE) --no-print-directory -j$(shell nproc) all $(BUILD)/unit_tests $(TOOLS)
	@BUILD=$(BUILD) ./scripts/run-tests.sh

unit: deps
	@$(MAKE) --no-print-directory $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# As in scripts/run-tests.sh: the tests not marked serial E2E_JOBS at a time (pytest-xdist),
# then the serial ones (capacity, rates, CPU%) alone; fails if either part fails.
E2E_JOBS ?= 6
e2e: deps
	@$(MAKE) --no-print-directory all
	STAMPEDE_BIN=$(abspath $(BUILD)/stampede) $(PYTEST) tests/e2e -q -n $(E2E_JOBS) \
		--dist loadfile -m "not serial"; a=$$?; \
	STAMPEDE_BIN=$(abspath $(BUILD)/stampede) $(PYTEST) tests/e2e -q -m serial; b=$$?; \
	[ $$a -eq 0 ] && [ $$b -eq 0 ]

# Reliability suite (issue #8): hostile servers in quick and script mode, and signals.
# Part of e2e (and so of test and asan); this runs it alone.
torture: deps
	@$(MAKE) --no-print-directory all
	STAMPEDE_BIN=$(abspath $(BUILD)/stampede) $(PYTEST) tests/e2e/test_torture.py -q

# Same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	@$(MAKE) --no-print-directory test BUILD=build-asan OPT="-O1 -g" \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined"

# The main job: start the demo target with one weakness, assess it, report. Its exit code
# is the assessment's: 99 (an SLO failed: the weakness was found) is what a demo is for.
demo: deps all
	@$(BUILD)/stampede quickstart; rc=$$?; \
	if [ $$rc -eq 99 ]; then echo "make demo: the assessment exited 99 (an SLO failed: the weakness it found); that is the demo working"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

# A first run against a loopback nginx that the command starts itself (counts equal its log).
demo-nginx: deps all
	@./scripts/demo.sh

bench: deps all
	/usr/bin/python3 bench/bench.py --bin $(abspath $(BUILD)/stampede)

# stampede vs wrk, h2load, ab, hey, Locust, autocannon and Artillery (bench/README.md);
# installs the peers it lacks (apt, and npm into the build directory).
bench-peers: deps all
	scripts/install-bench-peers.sh $(abspath $(BUILD))/bench-peers-npm
	/usr/bin/python3 bench/peers.py --bin $(abspath $(BUILD)/stampede)

# libFuzzer targets (clang); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined
# the part of the library the fuzzers link is compiled once for all of them (instrumented,
# without libFuzzer's main); only that part, to keep `make test` short: a fuzzer that needs
# another file fails to link, naming the symbol, and the file is added here
FUZZ_LIB_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIB_SRCS := src/util/buf.c src/util/common.c src/util/escape.c src/util/outfile.c \
                 src/util/promtext.c src/protocol/content.c src/protocol/http_parse.c \
                 src/metrics/hdr.c src/metrics/metrics.c src/result/json.c src/result/result.c \
                 src/demo/demo_api.c src/demo/demo_buf.c src/demo/demo_cache.c \
                 src/demo/demo_config.c src/demo/demo_data.c src/demo/demo_http.c \
                 src/demo/demo_metrics.c src/demo/demo_pool.c
FUZZ_OBJS := $(FUZZ_LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_LIB_CFLAGS) $(shell pkg-config --cflags $(PKGS)) -MMD -MP -c -o $@ $<
$(BUILD)/fuzz/libstampede-fuzz.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libstampede-fuzz.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(PKGS)) -o $@ $< \
		$(BUILD)/fuzz/libstampede-fuzz.a $(LDLIBS)

fuzz-build: $(FUZZERS)

fuzz: deps $(FUZZERS)
	@for f in $(FUZZERS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$(basename $$f); \
		echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz/corpus-$$(basename $$f) \
			tests/fuzz/seeds/$$(basename $$f) || exit 1; \
	done

# the container image (Dockerfile) with podman, no Docker Hub: scripts/build-image.sh
image:
	STAMPEDE_IMAGE_DIR="$${STAMPEDE_IMAGE_DIR:-$(BUILD)/image}" ./scripts/build-image.sh

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h) $(TEST_SRCS) $(wildcard tests/fuzz/*.c)

clean:
	rm -rf build build-asan

help:
	@echo "make [all|test|unit|e2e|torture|asan|bench|bench-peers|fuzz|demo|demo-nginx|format|clean] (README.md, \"Make targets\")"

-include $(OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d)

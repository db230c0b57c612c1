# turnpike: the two commands a new machine needs are `make run` and `make test`.
PRESET ?= release
BUILD  := build/$(PRESET)
PY     := /usr/bin/python3
JOBS   ?= 2
# make install: PREFIX for the binary, unit and docs; the configuration and the logrotate
# snippet go to SYSCONFDIR (/etc/turnpike, /etc/logrotate.d); DESTDIR stages it all.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR    ?=

.PHONY: all deps deps-build deps-test deps-bench deps-fuzz configure build run test unit e2e \
        test-asan fuzz bench install clean

all: build

# Each target installs only what it needs: building and running need the compiler and the
# libraries; tests add GoogleTest, pytest, promtool and systemd-analyze; the bench adds nginx,
# HAProxy and wrk.
deps: deps-build
deps-build:
	@./scripts/install-deps.sh build
deps-test:
	@./scripts/install-deps.sh test
deps-bench:
	@./scripts/install-deps.sh bench
deps-fuzz:
	@./scripts/install-deps.sh fuzz

configure:
	@cmake --preset $(PRESET) -DCMAKE_INSTALL_PREFIX=$(PREFIX) \
	  -DCMAKE_INSTALL_SYSCONFDIR=$(SYSCONFDIR) >/dev/null

build: deps-build configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

# Starts the gateway on the quickstart config (nothing else needs to run):
#   curl localhost:8080/api/v1/health
run: build
	$(BUILD)/turnpike --config examples/quickstart.yaml

test: deps-test build unit e2e

unit:
	ctest --preset $(PRESET) -j $(JOBS) --timeout 120

e2e:
	TURNPIKE_BIN=$(CURDIR)/$(BUILD)/turnpike $(PY) -m pytest -q -p no:cacheprovider tests/e2e

# Every unit test and the whole e2e suite again, against a build with AddressSanitizer and
# UndefinedBehaviorSanitizer (preset asan, build/asan): any finding stops the process that made
# it, and a gateway that dies fails its test. Leaks are reported at exit.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 TURNPIKE_SANITIZED=1
test-asan: deps-test
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	$(ASAN_ENV) ctest --preset asan -j $(JOBS) --timeout 300
	$(ASAN_ENV) TURNPIKE_BIN=$(CURDIR)/build/asan/turnpike $(PY) -m pytest -q -p no:cacheprovider \
	  tests/e2e

# Every fuzz target (tests/fuzz) for FUZZ_SECONDS each, built with clang's libFuzzer, ASan and
# UBSan in build/fuzz. `make test` replays the kept inputs without libFuzzer.
FUZZ_SECONDS ?= 60
fuzz: deps-fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh build/fuzz

# Side by side with nginx and HAProxy (bench/RESULTS.md), then the reload benchmark
# (bench/RELOAD.md).
bench: deps-bench deps-test build
	$(PY) bench/run.py --turnpike $(CURDIR)/$(BUILD)/turnpike
	$(PY) bench/reload.py --turnpike $(CURDIR)/$(BUILD)/turnpike

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

clean:
	rm -rf build

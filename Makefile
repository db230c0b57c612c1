# turnpike: the two commands a new machine needs are `make run` and `make test`.
PRESET ?= release
BUILD  := build/$(PRESET)
PY     := /usr/bin/python3
JOBS   ?= 2

.PHONY: all deps build run test unit e2e bench clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

# Starts the gateway on the quickstart config (nothing else needs to run):
#   curl localhost:8080/api/v1/health
run: build
	$(BUILD)/turnpike --config examples/quickstart.yaml

test: build unit e2e

unit:
	ctest --preset $(PRESET) -j $(JOBS) --timeout 120

e2e:
	TURNPIKE_BIN=$(CURDIR)/$(BUILD)/turnpike $(PY) -m pytest -q -p no:cacheprovider tests/e2e

# Side by side with nginx and HAProxy (bench/RESULTS.md), then the reload benchmark
# (bench/RELOAD.md).
bench: build
	$(PY) bench/run.py --turnpike $(CURDIR)/$(BUILD)/turnpike
	$(PY) bench/reload.py --turnpike $(CURDIR)/$(BUILD)/turnpike

clean:
	rm -rf build

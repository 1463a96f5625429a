# Thin wrapper over CMake. Each target installs missing Debian packages first
# (scripts/install-deps.sh, idempotent), then configures and builds.
#   make demo   build and run the showcase; writes demo-out/index.html
#   make test   build with -Werror and run the whole test suite (ctest)
#   make bench  build and run the benchmarks against GSL/SUNDIALS/Boost (bench-out/)
#   make test-asan   the suite once more under AddressSanitizer + UBSan
#   make fuzz   build the libFuzzer harnesses (clang) and run each FUZZ_SECONDS (fuzz-out/)
#   make install PREFIX=/usr/local
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
FUZZ_SECONDS ?= 180

.PHONY: all build deps deps-bench deps-fuzz demo test test-fast test-asan bench fuzz install clean

all: build

deps:
	@scripts/install-deps.sh build

deps-bench:
	@scripts/install-deps.sh bench

deps-fuzz:
	@scripts/install-deps.sh fuzz

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(BUILD)/tools/nde/nde demo --out demo-out

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L fast

test-asan: deps
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DNDE_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	@cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --output-on-failure -j $(JOBS) -L fast

bench: deps-bench
	@cmake -S . -B $(BUILD)-bench -DCMAKE_BUILD_TYPE=Release -DNDE_BUILD_BENCH=ON >/dev/null
	@cmake --build $(BUILD)-bench -j $(JOBS)
	@scripts/run-bench.sh $(BUILD)-bench bench-out

# The fuzz build is a separate clang configuration: library and harnesses instrumented
# with libFuzzer coverage, ASan and UBSan (tests/fuzz/README.md).
fuzz: deps-fuzz
	@CC=clang cmake -S . -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNDE_FUZZ=ON \
	    -DNDE_BUILD_TESTS=OFF -DNDE_BUILD_TOOLS=OFF >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS)
	@scripts/run-fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS) fuzz-out

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-bench $(BUILD)-fuzz demo-out bench-out fuzz-out

# Thin wrapper around CMake. `make demo` and `make test` are the two
# commands a new user types; both install dependencies first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
CTEST_JOBS ?= 2

.PHONY: all deps build asan tsan test test-release test-asan test-tsan bench demo clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) -- --no-print-directory

# The whole suite, then the whole suite again under ASan+UBSan, then the
# threads test under ThreadSanitizer.
test: test-release test-asan test-tsan

test-release: build
	@cd $(BUILD) && ctest --output-on-failure -j $(CTEST_JOBS)

test-asan: asan
	@cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  ctest --output-on-failure -j $(CTEST_JOBS)

tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target spamtide -- --no-print-directory

test-tsan: tsan
	@cd $(TSAN_BUILD) && ctest --output-on-failure

bench: build
	@./bench/run

demo: build
	@./$(BUILD)/spamtide demo

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)

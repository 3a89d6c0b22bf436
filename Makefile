# samverka - the two commands: `make demo` and `make check`.
# Everything else here is a step of those two, or a tool for developers.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2
LISTEN     ?= 127.0.0.1:8080
DB         ?= var/samverka.db

.PHONY: all deps build asan demo serve check lint unit http generate generate-check bench bench-pg fuzz clean

all: build

deps:
	@tools/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSV_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

# Installs what is missing, builds, loads the demo into SQLite (printing the demo logins)
# and serves the api and the web app with auth on: open http://$(LISTEN)/ and log in.
demo: build
	@mkdir -p $(dir $(DB))
	$(BUILD)/samverka demo --db $(DB)
	@echo "web app: http://$(LISTEN)/"
	$(BUILD)/samverka serve --listen $(LISTEN) --db $(DB) --auth on

serve: build
	@mkdir -p $(dir $(DB))
	$(BUILD)/samverka serve --listen $(LISTEN) --db $(DB)

# Installs what is missing and runs every test, plain and under ASan+UBSan.
check: build asan
	@tools/check.sh $(BUILD) $(ASAN_BUILD)

lint:
	@tools/lint.sh

# Regenerates the committed C tables from the official R4 definitions (npm).
generate: deps
	node tools/gen_validator.mjs
	node tools/gen_searchparams.mjs
	node tools/gen_compartment.mjs

generate-check:
	node tools/gen_validator.mjs --check
	node tools/gen_searchparams.mjs --check
	node tools/gen_compartment.mjs --check

# libFuzzer (clang, ASan+UBSan): each target (or those in TARGETS, e.g. TARGETS="http xml")
# for SECONDS on a scratch copy of its corpus.
SECONDS ?= 60
fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSV_SANITIZE=ON -DSV_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS)
	@tools/fuzz.sh build-fuzz $(SECONDS) $(TARGETS)

bench: deps
	@tools/install-deps.sh bench
	@bench/run.sh $(RESOURCES)

# creates, reads and search on PostgreSQL with one and with two processes (docs/performance.md)
bench-pg: deps
	@tools/install-deps.sh bench
	@bench/pg.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz

# The two commands the README promises: `make run` starts the server on its embedded default, `make test` runs
# every test. Everything else here is for developers.

GO      ?= go
BIN     ?= bin
PKGS    := ./...

.PHONY: run test test-postgres bench demo build generate vet fmt clean

run:
	$(GO) run ./cmd/plugzapi

# -race everywhere; the end-to-end suite builds the server binary itself and runs it as a separate process.
# -count=1: Go's test cache cannot see that binary's sources, and would replay an old end-to-end result.
# The kill -9 test at full intake runs again without the race detector, at its full 10,000 messages.
# The event export's tests start a private RabbitMQ node (scripts/test-rabbitmq, Debian's rabbitmq-server,
# installed if missing, when run as root) unless PLUGZAPI_TEST_AMQP_URL names one; it is stopped at the end.
test: vet
	$(GO) test -race -count=1 -timeout 14m $(PKGS)
	$(GO) test -count=1 -timeout 10m -run TestCrashAtFullIntake ./e2e/
	$(MAKE) --no-print-directory test-postgres
	scripts/test-rabbitmq stop

# The Postgres run: every package whose tests use the database, and every end-to-end test, again on a throwaway
# PostgreSQL server (scripts/test-postgres: Debian's postgresql package, installed if missing, when run as root).
# The end-to-end tests run without the race detector here (the run above had it; this one proves the dialect),
# except the kill -9 test at full intake, which would send its full 10,000 messages without it (the run above
# did); TestCluster ran on Postgres above already. One shell, so that the trap stops the server whether the
# tests pass or fail. With PLUGZAPI_TEST_POSTGRES_URL set, the tests use that server instead, and leave it
# running.
PG_PKGS := ./store/... ./events/... ./access ./mediastore ./whatsapp ./actors
test-postgres:
	set -e; \
	if [ -z "$$PLUGZAPI_TEST_POSTGRES_URL" ]; then \
		trap 'scripts/test-postgres stop' EXIT; trap 'exit 130' INT TERM; \
		PLUGZAPI_TEST_POSTGRES_URL=$$(scripts/test-postgres start); \
	fi; \
	export PLUGZAPI_TEST_DATABASE=postgres PLUGZAPI_TEST_POSTGRES_URL; \
	$(GO) test -race -count=1 -timeout 10m $(PG_PKGS); \
	$(GO) test -count=1 -timeout 12m -skip '^(TestCrashAtFullIntake|TestCluster)$$' ./e2e/; \
	$(GO) test -race -count=1 -timeout 10m -run '^TestCrashAtFullIntake$$' ./e2e/

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); echo "gofmt: the files above need formatting"; exit 1)
	$(GO) vet $(PKGS)

# Whole scenarios against the real binary (e2e/bench_*_test.go), each run BENCH_COUNT times; benchstat prints
# the medians. Raw results stay in bench.out. BenchmarkIdleInstances and BenchmarkClusterIdleInstances link
# BENCH_IDLE_INSTANCES and BENCH_CLUSTER_IDLE_INSTANCES instances (1,000 each by default; a few links/s here), so
# they run BENCH_IDLE_COUNT times only.
BENCH_COUNT ?= 6
BENCH_IDLE_COUNT ?= 1
bench:
	$(GO) test -run '^$$' -bench . -skip IdleInstances -benchtime 1x -count $(BENCH_COUNT) -timeout 90m ./e2e/ | tee bench.out
	$(GO) test -run '^$$' -bench IdleInstances -benchtime 1x -count $(BENCH_IDLE_COUNT) -timeout 90m ./e2e/ | tee -a bench.out
	$(GO) tool -modfile=tools/go.mod benchstat bench.out

demo: build
	./scripts/demo.sh

build:
	mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/plugzapi ./cmd/plugzapi
	CGO_ENABLED=0 $(GO) build -o $(BIN)/wasim ./cmd/wasim

# Regenerates the protobuf code from proto/ (buf and protoc-gen-go are Go tools: nothing to install).
generate:
	$(GO) tool -modfile=tools/go.mod buf generate

clean:
	rm -rf $(BIN)

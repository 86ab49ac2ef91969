# Every module in the repository: the root and each nested go.mod.
MODULES := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test lint vet race bench-smoke bench

# test is the command CI runs: vet, lint, race-enabled tests, and one pass of
# every benchmark so that benchmarks keep compiling and running.
test: vet lint race bench-smoke

vet:
	@set -e; for m in $(MODULES); do echo "== go vet $$m"; (cd $$m && go vet ./...); done

lint:
	@set -e; for m in $(MODULES); do echo "== staticcheck $$m"; (cd $$m && go run $(STATICCHECK) ./...); done

race:
	@set -e; for m in $(MODULES); do echo "== go test -race $$m"; (cd $$m && go test -race -count=1 -timeout 10m ./...); done

bench-smoke:
	@set -e; for m in $(MODULES); do echo "== benchmarks, one iteration each, $$m"; (cd $$m && go test -run '^$$' -bench . -benchtime 1x -count=1 ./... > /dev/null); done

# bench runs the benchmarks recorded in docs/benchmarks.md.
bench:
	go test -run '^$$' -bench . -benchmem -count=6 ./messaging ./pool

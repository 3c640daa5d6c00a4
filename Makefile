# iisync — the two commands a new user needs are `make run` and `make test`.
GO       ?= go
FUZZTIME ?= 10s
BIN      := bin/iisync
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test test-short bench bench-e2e fuzz lint check-config clean

## run: start the engine with the demo configuration (conf/examples/demo.yaml)
run: build
	./$(BIN) serve -c conf/examples/demo.yaml

build:
	$(GO) build -o $(BIN) ./cmd/iisync

## test: everything CI must prove (race detector, integration and interop tests, import rule)
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...
	$(GO) test -count=1 -run TestImportDirection .

## test-short: the quick loop; slow tests skip under -short
test-short:
	$(GO) test -short ./...

## bench: every benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-e2e: iisync serve vs the simple-hl7 and python3-hl7 peers under mllpload (PEERS, default /var/tmp/iisync-peers);
##            RSS_MESSAGES=200000 scripts/bench-e2e.sh rss for the memory figure, scripts/bench-e2e.sh ingest
##            for the 8-connection commit figure, CHUNKS=10 scripts/bench-e2e.sh grow for the store as it grows
bench-e2e:
	GO=$(GO) scripts/bench-e2e.sh

## fuzz: each fuzz target for $(FUZZTIME)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## lint: gofmt, go vet, staticcheck (skipped with a note if it does not install)
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) run $(STATICCHECK) -version >/dev/null 2>&1; then $(GO) run $(STATICCHECK) ./...; \
	 else echo "staticcheck did not install here; skipped"; fi

## check-config: validate the example configurations (the hospital example's
## secrets come from a test that writes stand-ins; see docs/CONFIG.md)
check-config: build
	./$(BIN) check -c conf/examples/demo.yaml
	$(GO) test -count=1 -run 'Check' ./cmd/iisync/

clean:
	rm -rf bin

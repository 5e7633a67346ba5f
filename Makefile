# ringex — `make run` starts the exchange, `make test` runs every test.
GO      ?= go
BIN     := bin/ringex
LOG_FORMAT ?= text
LOG_LEVEL ?= info
ARGS ?=
# Packages that run goroutines get the race detector; matcher/ is pure and
# single-threaded, so its (long) property tests run without it.
RACE_PKGS = $(shell $(GO) list ./... | grep -v '/matcher$$')
# go test's own limit per package binary is 10m. node/ takes 300-410 s under
# -race on a quiet machine and ran past 10m in CI with a load average of
# 14-28 (a panic that names whichever test ran at the time, not a failure of
# it). CI gives the whole job 20 minutes: 18m lets a slow package finish and
# still ends a hung one with its goroutine dump before CI kills the job.
RACE_TIMEOUT ?= 18m

.PHONY: help build run test vet clean acceptance-data bench peer campaign browser partition shard

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

build: ## build bin/ringex
	$(GO) build -o $(BIN) ./cmd/ringex

run: build ## start the exchange on its embedded default configuration (FIX on 127.0.0.1:9878, admin 9880, HTTP 9881, journal in ./data); LOG_FORMAT=json, LOG_LEVEL=debug; ARGS='--listen 127.0.0.1:9978 --http 127.0.0.1:9981' (any serve flag)
	./$(BIN) serve --log-format $(LOG_FORMAT) --log-level $(LOG_LEVEL) $(ARGS)

vet: ## go vet and gofmt check
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed on:"; gofmt -l .; exit 1)

browser: ## install Debian's chromium for the status page's browser test (once; where it cannot, the test skips and says why)
	-@scripts/chromium.sh

test: vet browser ## make vet and make browser, then every test (race detector on the concurrent packages)
	$(GO) test -race -count=1 -timeout $(RACE_TIMEOUT) $(RACE_PKGS)
	$(GO) test -count=1 ./matcher

campaign: ## delivery campaign (about 4 minutes): 100 SIGKILLs of a single node, then 100 of a pair's nodes, under a mixed FIX load; every broker's reports checked against the journal (KILLS=N)
	RINGEX_CAMPAIGN_KILLS=$(or $(KILLS),100) $(GO) test -count=1 -run TestCampaign -v -timeout 60m ./cmd/ringex/

partition: ## partition test as root (about 11 minutes): links between primary, standby (and etcd) cut at random in network namespaces under a FIX load; the history checker reads the brokers' records and the journals (PARTITION_S=600, SEED=N)
	RINGEX_PARTITION_SECONDS=$(or $(PARTITION_S),600) RINGEX_PARTITION_MIN_CUTS=30 RINGEX_PARTITION_SEED=$(SEED) \
		$(GO) test -count=1 -run 'TestPartition(Pair|EtcdShard)$$' -v -timeout 90m ./cmd/ringex/

# Where `make acceptance-data` copies the QuickFIX acceptance scenarios from.
ACCEPTANCE_SRC ?= ../shared/fix-acceptance

# The copy goes beside the old one first; the old one is swapped out only once
# the new one is whole, so a missing or failed source leaves testdata as it was.
acceptance-data: ## refresh testdata/fix-acceptance from ACCEPTANCE_SRC (default ../shared/fix-acceptance); refuses, changing nothing, if it is missing
	@test -f "$(ACCEPTANCE_SRC)/LICENSE" -a -d "$(ACCEPTANCE_SRC)/fix42" -a -d "$(ACCEPTANCE_SRC)/fix44" || \
		{ echo "make acceptance-data: $(ACCEPTANCE_SRC) is not a copy of the acceptance suite (no LICENSE, fix42/ or fix44/ there); testdata/fix-acceptance is unchanged. Set ACCEPTANCE_SRC=DIR." >&2; exit 1; }
	rm -rf testdata/.fix-acceptance.new testdata/.fix-acceptance.old
	cp -r "$(ACCEPTANCE_SRC)" testdata/.fix-acceptance.new
	if [ -e testdata/fix-acceptance ]; then mv testdata/fix-acceptance testdata/.fix-acceptance.old; fi
	mv testdata/.fix-acceptance.new testdata/fix-acceptance
	rm -rf testdata/.fix-acceptance.old

clean: ## remove build output and the local journal
	rm -rf bin data

bench: build ## quick benchmark suite (under 5 minutes): table, .hgrm, JSON and chart under bench-results/; the ordermatch peer too once built (PEER=build|off); WAKE_GRID=500us paces on a grid (bench.Schedule)
	./$(BIN) bench suite --peer=$(or $(PEER),auto) --wake-grid=$(or $(WAKE_GRID),0)

shard: build ## a shard led through etcd on this machine: three etcd members (Debian's etcd-server) and two ringex nodes (scripts/shard.sh; Ctrl-C stops them)
	scripts/shard.sh $(BIN)

peer: ## build QuickFIX/C++'s ordermatch example from Debian's packages into bin/peer/ (apt-get, g++), the peer of make bench
	scripts/ordermatch.sh build

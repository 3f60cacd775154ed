# Plain go build with version ldflags, so it works offline and without promu.
VERSION   ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
PKG        = github.com/prometheus/common/version
LDFLAGS    = -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) -X $(PKG).Branch=$(BRANCH) \
             -X $(PKG).BuildUser=$(shell whoami)@$(shell hostname) -X $(PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: all style vet build unit test e2e checkrules mixin bench fuzz run

all: style vet build unit

style:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...

build:
	go build -ldflags "$(LDFLAGS)" -o smtp_exporter .

# Unit tests: fast, no root, no network beyond loopback.
unit:
	go test -race -count=1 ./...

# Everything: style, vet, unit tests, then the end-to-end suite against a real
# Postfix, a firewalled network namespace and a real Prometheus (needs root; installs packages).
test: style vet unit e2e checkrules

e2e:
	bash e2e/run.sh

checkrules:
	promtool check rules dashboards/*.rules.yml
	promtool test rules dashboards/*_test.yml
	promtool check config examples/prometheus-vantages.yml

# Render the monitoring mixin (mixin/*.libsonnet, go-jsonnet) into dashboards/:
# the rule file, the Grafana dashboards, the reason-coverage promtool tests.
# mixin/mixin_test.go (make unit) fails when they are out of date.
mixin:
	go run ./mixin/cmd/generate

bench:
	bash bench/run.sh

fuzz:
	go test -run '^$$' -fuzz '^FuzzReadReply$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParseEHLO$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParseTarget$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./config/

run:
	go run .

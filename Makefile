# Plain go build with version ldflags, so it works offline and without promu.
VERSION   ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
PKG        = github.com/prometheus/common/version
LDFLAGS    = -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) -X $(PKG).Branch=$(BRANCH) \
             -X $(PKG).BuildUser=$(shell whoami)@$(shell hostname) -X $(PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: all style vet build unit test e2e checkrules bench bench-full bench-profile fuzz run

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

# CPU and peak RSS per STARTTLS probe: bare dialogue, HTTP floor, smtp_exporter,
# blackbox_exporter, at c=1 and c=16 (about 3 minutes on 2 cores).
bench:
	bash bench/run.sh

# Also the concurrency curve (c=1,16,64,256), the submission and mx probes' cost
# and the memory of a 1000-probe history.
bench-full:
	bash bench/run.sh -full

# Where the exporter's CPU goes beyond the HTTP floor's (perf record; the perf files stay in /tmp/smtp_exporter-profile).
bench-profile:
	bash bench/run.sh -perf /tmp/smtp_exporter-profile -n 3000 -c 16

fuzz:
	go test -run '^$$' -fuzz '^FuzzReadReply$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParseEHLO$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParseTarget$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./config/

run:
	go run .

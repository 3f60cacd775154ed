# Plain go build with version ldflags, so it works offline and without promu.
VERSION   ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
PKG        = github.com/prometheus/common/version
LDFLAGS    = -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) -X $(PKG).Branch=$(BRANCH) \
             -X $(PKG).BuildUser=$(shell whoami)@$(shell hostname) -X $(PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

# Release platforms as GOOS/GOARCH[/GOARM]. .goreleaser.yml builds the same
# list (release_test.go keeps them equal); crossbuild proves each compiles.
CROSSBUILD_TARGETS = linux/amd64 linux/arm64 linux/arm/7 darwin/amd64 darwin/arm64 \
                     windows/amd64 windows/arm64 freebsd/amd64 freebsd/arm64

.PHONY: all style vet build unit test e2e checkrules bench fuzz run crossbuild

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

bench:
	bash bench/run.sh

fuzz:
	go test -run '^$$' -fuzz '^FuzzReadReply$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParseEHLO$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParseTarget$$' -fuzztime 60s ./prober/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./config/

run:
	go run .

# Compile every release platform without cgo, with the release's -trimpath
# (so a goreleaser build and this share the build cache).
crossbuild:
	@set -e; for t in $(CROSSBUILD_TARGETS); do \
		set -- $$(echo $$t | tr / ' '); \
		echo "crossbuild $$t"; \
		CGO_ENABLED=0 GOOS=$$1 GOARCH=$$2 GOARM=$${3:-} go build -trimpath -o /dev/null .; \
	done

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

GORELEASER ?= $(shell go env GOPATH)/bin/goreleaser
GORELEASER_VERSION = v2.17.0

.PHONY: all style vet build unit test e2e checkrules mixin bench bench-full bench-profile fuzz run crossbuild \
        packaging-validate kubernetes-rules release-check release-notes docker

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
# Postfix, a firewalled network namespace and a real Prometheus (needs root; installs packages),
# the rules with promtool, every release platform, the packaging (Kubernetes, Helm, Dockerfile).
test: style vet unit e2e checkrules crossbuild packaging-validate

e2e:
	bash e2e/run.sh

checkrules:
	promtool check rules dashboards/*.rules.yml
	promtool test rules dashboards/*_test.yml
	promtool check config examples/prometheus-vantages.yml
	promtool check config examples/prometheus-sharded.yml

# Render the monitoring mixin (mixin/*.libsonnet, go-jsonnet) into dashboards/:
# the rule file, the Grafana dashboards, the reason-coverage promtool tests.
# mixin/mixin_test.go (make unit) fails when they are out of date.
mixin:
	go run ./mixin/cmd/generate

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

# Compile every release platform without cgo, with the release's -trimpath
# (so a goreleaser build and this share the build cache).
crossbuild:
	@set -e; for t in $(CROSSBUILD_TARGETS); do \
		set -- $$(echo $$t | tr / ' '); \
		echo "crossbuild $$t"; \
		CGO_ENABLED=0 GOOS=$$1 GOARCH=$$2 GOARM=$${3:-} go build -trimpath -o /dev/null .; \
	done

# The Kubernetes manifests decoded strictly into the k8s.io and
# prometheus-operator types, and BuildKit's Dockerfile checks (docker build
# --check) run offline, helm lint and helm template on the chart: a module of
# its own, so the exporter's go.mod stays lean.
packaging-validate:
	cd examples/kubernetes/validate && go test -count=1 ./...

# Regenerate examples/kubernetes/prometheusrule.yaml from dashboards/smtp_exporter.rules.yml.
kubernetes-rules:
	cd examples/kubernetes/validate && go test -count=1 -run TestPrometheusRuleInSync -update .

# Validate .goreleaser.yml and build every archive and checksum into dist/
# (no tag, no upload, no image). Installs goreleaser from the Go module proxy if missing.
release-check:
	@test -x $(GORELEASER) || go install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)
	$(GORELEASER) check
	$(GORELEASER) release --snapshot --clean --skip=docker,publish,sign,sbom

# dist/release-notes.md: this version's section of CHANGELOG.md, for
# goreleaser release --release-notes.
release-notes:
	@mkdir -p dist
	awk '/^## /{p = index($$0, "## $(VERSION) ") == 1; next} p' CHANGELOG.md > dist/release-notes.md
	@test -s dist/release-notes.md || { echo "CHANGELOG.md has no section for $(VERSION)"; exit 1; }

# The image for the local platform, from source (buildx for others: see Dockerfile).
docker:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$$(git rev-parse HEAD) \
		--build-arg BRANCH=$(BRANCH) -t smtp_exporter:$(VERSION) .

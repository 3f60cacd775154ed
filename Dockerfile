# smtp_exporter container image, for any platform the Go compiler targets.
#
# From source (what `make docker` runs for the local platform):
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 \
#     --build-arg VERSION=$(cat VERSION) --build-arg REVISION=$(git rev-parse HEAD) -t smtp_exporter .
# From release binaries (goreleaser, .goreleaser.yml): BINARY=prebuilt takes
# $TARGETPLATFORM/smtp_exporter from the build context instead of compiling.
#
# The one base image is pinned by its exact version (the Go release go.mod
# names; a test keeps the two equal). Add @sha256:… where your registry is
# reachable to pin it by digest as well. The runtime image is `scratch`: the
# static binary, the CA certificates it verifies SMTP servers against, the
# example config and the licence; no shell, no package manager, nothing else
# to patch.

ARG BINARY=build

# The build platform's Go cross-compiles for the target: no emulation needed.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS base

FROM base AS build
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG VERSION
ARG REVISION
ARG BRANCH
ARG BUILD_DATE
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# TARGETVARIANT is v7 for linux/arm/v7, empty elsewhere; GOARM wants the 7.
RUN CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH" GOARM="${TARGETVARIANT#v}" \
    go build -trimpath -buildvcs=false -o /out/smtp_exporter \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" .

# goreleaser puts each platform's binary at $TARGETPLATFORM/ in the context.
FROM scratch AS prebuilt
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/smtp_exporter /out/smtp_exporter

FROM ${BINARY} AS binary

FROM scratch
ARG VERSION
ARG REVISION
LABEL org.opencontainers.image.title="smtp_exporter" \
      org.opencontainers.image.description="Prometheus exporter that tells whether SMTP ports 25/465/587/2525 work, and why not" \
      org.opencontainers.image.source="https://github.com/smtp-exporter/smtp_exporter" \
      org.opencontainers.image.url="https://github.com/smtp-exporter/smtp_exporter" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=base /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /out/smtp_exporter /bin/smtp_exporter
COPY config.example.yml /etc/smtp_exporter/config.yml
COPY LICENSE NOTICE /usr/share/doc/smtp_exporter/
# nobody:nogroup, numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65534:65534
EXPOSE 10587
ENTRYPOINT ["/bin/smtp_exporter"]
# Mount your own file over /etc/smtp_exporter/config.yml; run with no
# arguments for the built-in modules.
CMD ["--config.file=/etc/smtp_exporter/config.yml"]

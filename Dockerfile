# Build stage: a static binary with the version stamped in.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 make build

# Run stage in the Prometheus style: a small base that carries CA certificates.
FROM quay.io/prometheus/busybox:latest
LABEL org.opencontainers.image.title="smtp_exporter" \
      org.opencontainers.image.description="Prometheus exporter that tells whether SMTP ports 25/465/587/2525 work, and why not"
COPY --from=build /src/smtp_exporter /bin/smtp_exporter
COPY config.example.yml /etc/smtp_exporter/config.yml
EXPOSE 10587
USER nobody
ENTRYPOINT ["/bin/smtp_exporter"]
# Mount your own file over /etc/smtp_exporter/config.yml; run with no arguments for the built-in modules.
CMD ["--config.file=/etc/smtp_exporter/config.yml"]

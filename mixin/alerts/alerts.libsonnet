// Every alert group. mixin.libsonnet adds runbook_url to each alert.
(import 'availability.libsonnet') +
(import 'tls_auth.libsonnet') +
(import 'port25.libsonnet') +
(import 'exporter.libsonnet')

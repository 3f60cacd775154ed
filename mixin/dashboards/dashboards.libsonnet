// The Grafana dashboards, by file name under dashboards/.
{
  grafanaDashboards+:: {
    'smtp-overview.json': (import 'overview.libsonnet')($._config),
    'smtp-target.json': (import 'target.libsonnet')($._config),
  },
}

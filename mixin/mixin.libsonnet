// The smtp_exporter monitoring mixin: alerts, recording rules and Grafana
// dashboards, following the monitoring-mixins conventions (_config,
// prometheusAlerts, prometheusRules, grafanaDashboards). `make mixin` renders
// it into dashboards/ (smtp_exporter.rules.yml, *.json); see the README's
// "Dashboards and alerts".
local u = import 'lib/utils.libsonnet';

local mixin =
  (import 'config.libsonnet') +
  (import 'rules/rules.libsonnet') +
  (import 'alerts/alerts.libsonnet') +
  (import 'dashboards/dashboards.libsonnet');

mixin {
  prometheusAlerts+:: {
    groups: u.withRunbooks(super.groups, $._config.runbookURLPattern),
  },
}

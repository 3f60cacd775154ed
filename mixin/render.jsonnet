// What `make mixin` writes (see generate.go): the rule file's groups, the
// dashboards by file name, the reason-coverage promtool tests.
local mixin = import 'mixin.libsonnet';

{
  rules: { groups: mixin.prometheusRules.groups + mixin.prometheusAlerts.groups },
  dashboards: mixin.grafanaDashboards,
  reasonsTest: (import 'tests/reasons_test.libsonnet')(mixin),
}

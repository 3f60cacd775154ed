// Small helpers for Grafana 10/11 dashboards in plain jsonnet (no
// grafonnet): each panel type with the defaults these dashboards share;
// a panel adds what differs with `+ { … }`.
{
  local ds = { type: 'prometheus', uid: '${datasource}' },

  // The dashboard variables as a selector. `instance` is the variable's
  // reference (${instance:regex} on the per-target dashboard).
  selector(instance='$instance'):: 'job=~"$job", instance=~"%s", vantage=~"$vantage", module=~"$module"' % instance,

  // An expression with {S} or {S, …} standing for the selector.
  expand(expr, sel):: std.strReplace(std.strReplace(expr, '{S}', '{' + sel + '}'), '{S, ', '{' + sel + ', '),

  // Queries. instant: a stat's value; table: an instant query for a table;
  // range: a time series.
  local query(expr, ref, legend, extra) = { datasource: ds, editorMode: 'code', expr: expr, legendFormat: legend, refId: ref } + extra,
  instant(expr, ref='A', legend='__auto'):: query(expr, ref, legend, { range: false, instant: true }),
  table(expr, ref='A', legend='__auto'):: query(expr, ref, legend, { range: false, instant: true, format: 'table' }),
  range(expr, ref='A', legend='__auto'):: query(expr, ref, legend, { range: true, instant: false }),

  // The query helpers of a dashboard whose expressions use {S} for sel.
  queries(sel):: {
    instant(expr, ref='A', legend='__auto'):: $.instant($.expand(expr, sel), ref, legend),
    table(expr, ref='A', legend='__auto'):: $.table($.expand(expr, sel), ref, legend),
    range(expr, ref='A', legend='__auto'):: $.range($.expand(expr, sel), ref, legend),
  },

  grid(x, y, w, h):: { gridPos: { x: x, y: y, w: w, h: h } },

  // Threshold steps: steps(['green']) is one step; steps(['green', 1,
  // 'red']) is green below 1, red from 1 (colour, value, colour…).
  steps(list):: {
    mode: 'absolute',
    steps: [{ color: list[0], value: null }] + [
      { color: list[i + 1], value: list[i] }
      for i in std.range(1, std.length(list) - 1)
      if i % 2 == 1
    ],
  },

  // A value mapping {value: [text, colour]}, in the order given.
  valueMap(pairs):: {
    type: 'value',
    options: {
      [p[0]]: { text: p[1], color: p[2], index: i }
      for i in std.range(0, std.length(pairs) - 1)
      for p in [pairs[i]]
    },
  },

  // A stat whose query returns nothing must not look healthy: "no data" in
  // red (the exporter is down, or nothing matches the selection).
  noData:: {
    noValue: 'no data',
    mappings+: [{ type: 'special', options: { match: 'null', result: { text: 'no data', color: 'red', index: 99 } } }],
  },

  override(name, properties):: {
    matcher: { id: 'byName', options: name },
    properties: [{ id: k, value: properties[k] } for k in std.objectFields(properties)],
  },

  link(title, url):: { title: title, url: url },

  local panel(type, title, description, grid) = {
    type: type,
    title: title,
    description: description,
    datasource: ds,
  } + $.grid(grid[0], grid[1], grid[2], grid[3]),

  row(title, y):: { type: 'row', title: title, collapsed: false, panels: [] } + $.grid(0, y, 24, 1),

  stat(title, description, grid, targets):: panel('stat', title, description, grid) {
    targets: targets,
    fieldConfig: {
      defaults: {
        color: { mode: 'thresholds' },
        mappings: [],
        thresholds: $.steps(['green']),
        unit: 'none',
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background',
      graphMode: 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
      wideLayout: true,
      showPercentChange: false,
    },
  },

  tablePanel(title, description, grid, targets):: panel('table', title, description, grid) {
    targets: targets,
    fieldConfig: {
      defaults: {
        custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false, filterable: true },
        color: { mode: 'thresholds' },
        mappings: [],
        thresholds: $.steps(['green']),
      },
      overrides: [],
    },
    options: {
      showHeader: true,
      cellHeight: 'sm',
      footer: { show: false, reducer: ['sum'], countRows: false, fields: '' },
    },
  },

  timeseries(title, description, grid, targets):: panel('timeseries', title, description, grid) {
    targets: targets,
    fieldConfig: {
      defaults: {
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: 10,
          gradientMode: 'none',
          showPoints: 'never',
          pointSize: 4,
          spanNulls: false,
          stacking: { mode: 'none', group: 'A' },
          axisPlacement: 'auto',
          axisLabel: '',
          barAlignment: 0,
          lineInterpolation: 'linear',
          scaleDistribution: { type: 'linear' },
          thresholdsStyle: { mode: 'off' },
          hideFrom: { legend: false, tooltip: false, viz: false },
        },
        color: { mode: 'palette-classic' },
        mappings: [],
        thresholds: $.steps(['green']),
        unit: 'none',
      },
      overrides: [],
    },
    options: {
      legend: { calcs: [], displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  },

  stateTimeline(title, description, grid, targets):: panel('state-timeline', title, description, grid) {
    targets: targets,
    fieldConfig: {
      defaults: {
        custom: { lineWidth: 0, fillOpacity: 80, hideFrom: { legend: false, tooltip: false, viz: false } },
        color: { mode: 'thresholds' },
        mappings: [],
        thresholds: $.steps(['green']),
      },
      overrides: [],
    },
    options: {
      mergeValues: true,
      showValue: 'auto',
      alignValue: 'left',
      rowHeight: 0.9,
      legend: { displayMode: 'list', placement: 'bottom', showLegend: false },
      tooltip: { mode: 'single', sort: 'none' },
    },
  },

  // Template variables: data source, job, module, vantage, instance.
  variables(instanceMulti):: [
    {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      current: { selected: false, text: 'Prometheus', value: '${DS_PROMETHEUS}' },
      refresh: 1,
      regex: '',
      hide: 0,
      includeAll: false,
      multi: false,
      options: [],
      skipUrlSync: false,
    },
  ] + [
    {
      name: v.name,
      label: v.label,
      type: 'query',
      datasource: ds,
      definition: v.query,
      query: v.query,
      refresh: 2,
      regex: '',
      sort: 1,
      multi: v.multi,
      includeAll: v.multi,
      current: {},
      options: [],
      hide: 0,
      skipUrlSync: false,
      description: v.description,
    } + (if v.name != 'job' && v.multi then { allValue: '.*' } else {})
    for v in [
      {
        name: 'job',
        label: 'Job',
        query: 'label_values(probe_smtp_reachable, job)',
        multi: true,
        description: 'Jobs that scrape smtp_exporter (found by probe_smtp_reachable, which blackbox_exporter does not have).',
      },
      {
        name: 'module',
        label: 'Module',
        query: 'label_values(probe_smtp_reachable{job=~"$job"}, module)',
        multi: true,
        description: 'Needs a `module` target label (relabel __param_module into module, see dashboards/README.md); without it, All matches every series.',
      },
      {
        name: 'vantage',
        label: 'Vantage',
        query: 'label_values(probe_smtp_reachable{job=~"$job", module=~"$module"}, vantage)',
        multi: true,
        description: 'The network a probe ran from: a `vantage` target label added by relabelling. All also matches series without it.',
      },
      {
        name: 'instance',
        label: 'Target',
        query: 'label_values(probe_smtp_reachable{job=~"$job", module=~"$module", vantage=~"$vantage"}, instance)',
        multi: instanceMulti,
        description: '',
      },
    ]
  ],

  // A dashboard: panels get ids in order.
  dashboard(config, uid, title, description, panels, instanceMulti):: {
    __inputs: [{
      name: 'DS_PROMETHEUS',
      label: 'Prometheus',
      description: 'Prometheus that scrapes smtp_exporter',
      type: 'datasource',
      pluginId: 'prometheus',
      pluginName: 'Prometheus',
    }],
    __elements: {},
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
    ] + [
      { type: 'panel', id: p[0], name: p[1], version: '' }
      for p in [['stat', 'Stat'], ['table', 'Table'], ['timeseries', 'Time series'], ['state-timeline', 'State timeline']]
    ],
    annotations: { list: [] },
    description: description + ' Generated from mixin/ (make mixin).',
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [{
      title: 'SMTP dashboards',
      type: 'dashboards',
      tags: config.dashboardTags,
      asDropdown: false,
      includeVars: true,
      keepTime: true,
      icon: 'external link',
      targetBlank: false,
      tooltip: '',
      url: '',
    }],
    liveNow: false,
    panels: [panels[i] { id: i + 1 } for i in std.range(0, std.length(panels) - 1)],
    refresh: config.dashboardRefresh,
    schemaVersion: 39,
    tags: config.dashboardTags + ['smtp', 'prometheus'],
    templating: { list: $.variables(instanceMulti) },
    time: { from: config.dashboardTimeFrom, to: 'now' },
    timepicker: {},
    timezone: '',
    title: title,
    uid: uid,
    version: 1,
    weekStart: '',
  },
}

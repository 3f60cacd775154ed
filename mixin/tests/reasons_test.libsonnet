// promtool tests generated from reasons.libsonnet's `cases`: for each, a
// probe failing steadily with that phase and reason in that kind of
// dialogue, and the exact set of firing alerts a while later (the one alert
// that owns the failure, once per failing dialogue) and before outageFor
// (none). Rendered into dashboards/smtp_exporter.reasons_test.yml.
local reasons = import '../alerts/reasons.libsonnet';

function(mixin)
  local c = mixin._config;
  local minutes(d) = std.parseInt(std.substr(d, 0, std.length(d) - 1));
  local F = minutes(c.outageFor);
  local steps = 30;
  local steady(v) = '%sx%d' % [v, steps];

  local warningAlerts = ['SmtpAuthCheckInconclusive', 'SmtpExporterSecretUnreadable', 'SmtpExporterTokenUnavailable', 'SmtpExtensionMissing', 'SmtpUnexpectedBanner', 'SmtpExporterProbePanics', 'SmtpMtaStsPolicyBroken'];
  local severity(alert) = if std.member(warningAlerts, alert) then 'warning' else 'critical';

  local labelString(ls) = std.join(', ', ['%s="%s"' % [k, ls[k]] for k in std.objectFields(ls)]);
  local series(metric, ls, values) = { series: '%s{%s}' % [metric, labelString(ls)], values: values };

  local jobs = { plain: 'smtp_starttls', port: 'smtp_submission', mx: 'smtp_mx', address: 'smtp_mx', domain: 'smtp_mx' };
  local target(scope) = { job: jobs[scope], instance: if scope == 'plain' then 'mail.example.com:587' else 'example.com' };
  local mx1 = { mx: 'mx1.example.com', preference: '10' };
  local mx2 = { mx: 'mx2.example.com', preference: '20' };
  local addr1 = mx1 { address: '192.0.2.25', ip_version: '4' };
  local addr2 = mx1 { address: '2001:db8::25', ip_version: '6' };

  // The failing dialogues of a scope (their labels beyond the target's).
  local failing(scope) =
    if scope == 'port' then [{ port: p } for p in ['587', '465', '2525']]
    else if scope == 'mx' then [mx1]
    else if scope == 'address' then [addr1]
    else [{}];

  // The series of a probe whose failing dialogues fail with phase/reason.
  local inputs(case) =
    local t = target(case.scope);
    local fail(d) = series('probe_smtp_failure', t + d + { phase: case.phase, reason: case.reason }, steady('1'));
    [series('up', t, steady('1')), series('probe_success', t, steady('0'))] +
    (
      if case.scope == 'plain' || case.scope == 'port' then
        [series('probe_smtp_reachable', t + d, steady('1')) for d in failing(case.scope)]
      else if case.scope == 'domain' then
        if case.phase == 'mta_sts' then [
          series('probe_smtp_mx_hosts', t, steady('1')),
          series('probe_smtp_mx_hosts_working', t, steady('1')),
          series('probe_smtp_reachable', t + mx1, steady('1')),
        ] else [
          series('probe_smtp_mx_hosts', t, steady('0')),
          series('probe_smtp_mx_hosts_working', t, steady('0')),
        ]
      else [
        series('probe_smtp_mx_hosts', t, steady('2')),
        series('probe_smtp_mx_hosts_working', t, steady('1')),
        series('probe_smtp_reachable', t + mx2, steady('1')),
      ] + (
        if case.scope == 'mx' then [series('probe_smtp_reachable', t + mx1, steady('1'))]
        else [
          series('probe_smtp_addresses', t + mx1, steady('2')),
          series('probe_smtp_addresses_working', t + mx1, steady('1')),
          series('probe_smtp_reachable', t + addr1, steady('1')),
          series('probe_smtp_reachable', t + addr2, steady('1')),
        ]
      )
    ) +
    (if case.scope == 'port' then [series('probe_smtp_submission_port', t, steady('0'))] else []) +
    [fail(d) for d in failing(case.scope)] +
    // What the exporter reports besides the failure, so that the alerts
    // keyed on it are exercised (and the warnings of the same name stay
    // silent).
    [
      series(m.metric, t + d, steady(m.value))
      for d in failing(case.scope)
      for m in (
        if std.startsWith(case.reason, 'cert_') then [{ metric: 'probe_tls_certificate_verified', value: '0' }]
        else if case.reason == 'starttls_unsupported' then [{ metric: 'probe_smtp_starttls_advertised', value: '0' }]
        else if case.reason == 'auth_before_tls' then [{ metric: 'probe_smtp_auth_before_tls', value: '1' }]
        else if case.reason == 'auth_not_enforced' then [{ metric: 'probe_smtp_auth_enforced', value: '0' }]
        else if case.reason == 'mta_sts_mx_mismatch' then [{ metric: 'probe_smtp_mta_sts_mx_match', value: '0' }]
        else if case.phase == 'greeting' then [{ metric: 'probe_smtp_greeting_code', value: '554' }]
        else []
      )
    ] +
    (if case.reason == 'mta_sts_mx_mismatch' then [series('probe_smtp_mta_sts_mode_info', t { mode: 'enforce' }, steady('1'))] else []) +
    (if case.reason == 'internal' then [series('smtp_exporter_probe_panics_total', { job: 'smtp_exporter', instance: 'exporter:10587' }, '0+1x%d' % steps)] else []);

  local alertsOf(case) =
    local base = { alertname: case.alert, alertstate: 'firing', severity: severity(case.alert) };
    if case.alert == 'SmtpExporterProbePanics' then [base { job: 'smtp_exporter', instance: 'exporter:10587' }]
    else [base + target(case.scope) + d for d in failing(case.scope)];

  local sample(ls) = { labels: 'ALERTS{%s}' % labelString(ls), value: 1 };

  {
    rule_files: ['smtp_exporter.rules.yml'],
    evaluation_interval: '1m',
    tests: [
      {
        name: '%s: %s/%s -> %s' % [case.scope, case.phase, case.reason, case.alert],
        interval: '1m',
        input_series: inputs(case),
        promql_expr_test: [
          {
            expr: 'ALERTS{alertstate="firing"}',
            eval_time: '%dm' % (F - 1),
            // A panic alerts at once: it is a bug, not a state to wait out.
            exp_samples: if case.alert == 'SmtpExporterProbePanics' then [sample(a) for a in alertsOf(case)] else [],
          },
          {
            expr: 'ALERTS{alertstate="firing"}',
            eval_time: '%dm' % (steps - 5),
            exp_samples: [sample(a) for a in alertsOf(case)],
          },
        ],
      }
      for case in reasons.cases
    ],
  }

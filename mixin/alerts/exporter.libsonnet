// The exporter itself. Without SmtpExporterDown, a dead exporter would
// silence every other alert: its series vanish.
local u = import '../lib/utils.libsonnet';

{
  local c = $._config,
  local E = c.exporterSelector,
  // up of the probe jobs and of the exporter's own job (the same series
  // when the selectors are equal: `or` keeps one).
  local up = if c.smtpSelector == E then 'up{%s}' % E else '(up{%s} or up{%s})' % [c.smtpSelector, E],

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'smtp_exporter.exporter',
        rules: [
          {
            alert: 'SmtpExporterDown',
            // Also when there is no series at all: the jobs left
            // Prometheus' configuration, service discovery finds no target
            // (a Probe or ScrapeConfig the Prometheus does not select), or
            // smtpSelector matches none of your jobs (absent() has no labels).
            expr: u.lines([
              '%s == 0' % up,
              '  or absent(up{%s})' % c.smtpSelector,
            ]),
            'for': c.exporterFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'smtp_exporter does not answer scrapes',
              description: '{{ if $labels.job }}Prometheus cannot scrape {{ $labels.instance }}'
                           + '{{ with $labels.vantage }} from vantage {{ . }}{{ end }} (job {{ $labels.job }}): the '
                           + 'exporter is down, answers later than the scrape timeout, or refuses the probe (503: '
                           + '--probe.max-concurrent reached; 403: allowed_targets), so no SMTP alert can fire for '
                           + 'this target.{{ else }}Prometheus has no scrape target matching %s: no probe of '
                             % std.strReplace(c.smtpSelector, '"', "'")
                           + 'smtp_exporter runs, so no SMTP alert can fire. The jobs are gone from the '
                           + 'configuration, service discovery finds nothing (a Probe or ScrapeConfig that '
                           + "Prometheus does not select), or the mixin's smtpSelector does not match your job "
                           + 'names.{{ end }}',
            },
          },
          {
            alert: 'SmtpExporterConfigReloadFailed',
            expr: u.lines(['smtp_exporter_config_last_reload_successful{%s} == 0' % E]),
            'for': c.exporterFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'smtp_exporter configuration reload failed',
              description: 'The last configuration reload of smtp_exporter {{ $labels.instance }} '
                           + '(job {{ $labels.job }}{{ with $labels.vantage }}, vantage {{ . }}{{ end }}) failed; '
                           + 'it keeps running with the previous configuration. POST /-/reload shows the error.',
            },
          },
          {
            alert: 'SmtpExporterProbesRejected',
            // /probe answered 503 (concurrency_limit) or 403
            // (target_forbidden) instead of probing: those targets go
            // unmonitored, and their scrapes fail.
            expr: u.lines(['increase(smtp_exporter_probes_rejected_total{%s}[%s]) > 0' % [E, c.exporterFor]]),
            'for': c.exporterFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'smtp_exporter rejects probes',
              description: 'smtp_exporter {{ $labels.instance }} (job {{ $labels.job }}'
                           + '{{ with $labels.vantage }}, vantage {{ . }}{{ end }}) has been rejecting probes '
                           + '(reason {{ $labels.reason }}, {{ $value | humanize }} recently): '
                           + 'concurrency_limit means more probes at once than --probe.max-concurrent, '
                           + 'target_forbidden a target outside allowed_targets.',
            },
          },
          {
            alert: 'SmtpExporterProbePanics',
            // A probe panicked inside the exporter (reason internal): a bug.
            // One is enough to report; the alert clears after a quiet window.
            expr: u.lines(['increase(smtp_exporter_probe_panics_total{%s}[%s]) > 0' % [E, c.warningFor]]),
            labels: { severity: 'warning' },
            annotations: {
              summary: 'smtp_exporter probes panic',
              description: 'Probes run by smtp_exporter {{ $labels.instance }} (job {{ $labels.job }}'
                           + '{{ with $labels.vantage }}, vantage {{ . }}{{ end }}) have panicked '
                           + '({{ $value | humanize }} recently); they fail with reason internal. This is a bug in '
                           + 'the exporter: report it with the log of a failed probe (the landing page keeps them).',
            },
          },
          {
            alert: 'SmtpExporterSecretUnreadable',
            // The exporter cannot read a module's password_file (or token):
            // the probe fails at auth without asking the server anything.
            expr: (import 'outage.libsonnet').expr(c, ['reason="secret_unreadable"'], availability=false),
            labels: { severity: 'warning' },
            annotations: {
              summary: 'smtp_exporter cannot read a probe secret',
              description: 'The probe of ' + u.where + ' has been failing because the exporter cannot read '
                           + "the module's password file (or environment variable): AUTH is not checked. "
                           + 'Fix the file (path, permissions, the mount of a Kubernetes Secret); the server is not at fault.',
            },
          },
          {
            alert: 'SmtpExporterTokenUnavailable',
            // The OAuth2 token endpoint (smtp.auth.oauth2) gives no token: the
            // probe fails at auth without trying the server's login.
            expr: (import 'outage.libsonnet').expr(c, ['reason="token_unavailable"'], availability=false),
            labels: { severity: 'warning' },
            annotations: {
              summary: 'smtp_exporter cannot get an OAuth2 token',
              description: 'The probe of ' + u.where + ' has been failing because the OAuth2 token endpoint '
                           + 'gives the exporter no token: the login (XOAUTH2/OAUTHBEARER) is not checked. '
                           + 'An expired client secret (Entra ID: AADSTS7000222) is the usual cause; the probe log names the error.',
            },
          },
        ],
      },
    ],
  },
}

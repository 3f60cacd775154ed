// Can clients reach the server and finish the dialogue? Plain dialogues
// (no mx or address label); an MX host or an address that fails the same
// way is SmtpMxHostDown or SmtpMxAddressDown (port25.libsonnet).
local outage = import 'outage.libsonnet';
local reasons = import 'reasons.libsonnet';
local u = import '../lib/utils.libsonnet';

{
  local c = $._config,
  local plain = 'mx="", address=""',
  // Not a phase or reason with an alert of its own anywhere.
  local notSpecific = 'phase!~"%s", reason!~"%s"' % [reasons.specificPhaseRegex, reasons.specificRegex],

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'smtp_exporter.availability',
        rules: [
          {
            alert: 'SmtpPortBlocked',
            expr: outage.expr(c, ['%s, phase="connect", reason="timeout"' % plain]),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP port blocked (connection silently dropped)',
              description: 'The TCP connection to ' + u.where + ' has been failing at every probe for a while, '
                           + 'and timed out at least once: no answer and no reset, so a firewall on the path is '
                           + 'silently dropping the traffic. ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpPortRefused',
            // Not the MTA-STS policy fetch of an mx probe (SmtpMtaStsPolicyBroken).
            expr: outage.expr(c, ['%s, phase!="mta_sts", reason="refused"' % plain]),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP port refused (nothing listening or firewall REJECT)',
              description: 'The TCP connection to ' + u.where + ' has been failing at every probe for a while, '
                           + 'and was refused at least once: nothing listens on the port, or a firewall answers '
                           + 'with a reset. ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpGreetingNotReady',
            expr: outage.expr(c, ['%s, phase="greeting", reason="unexpected_code"' % plain]),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP server greets with an error instead of 220',
              description: u.where + ' has been failing at every probe for a while, and greeted with '
                           + '{{ with ' + u.dialogueQuery('probe_smtp_greeting_code') + ' | query }}{{ . | first | value }}'
                           + '{{ else }}an error{{ end }} instead of 220 (421: service not available, overloaded or '
                           + 'shutting down; 554: this client is refused). ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpProbeFailed',
            // Every other failure of a plain dialogue: reasons without an
            // alert of their own (reasons.libsonnet), timeouts after
            // connect, unexpected codes after the greeting. Not the domain of
            // an mx probe (SmtpMxLookupFailed, SmtpNullMx).
            expr: outage.expr(c, [
              '%s, %s, reason!~"timeout|refused|unexpected_code"' % [plain, notSpecific],
              '%s, phase!~"connect|%s", reason="timeout"' % [plain, reasons.specificPhaseRegex],
              '%s, phase!~"greeting|%s", reason="unexpected_code"' % [plain, reasons.specificPhaseRegex],
            ], last=[
              '  unless ignoring (port) probe_smtp_mx_hosts{%s}' % c.smtpSelector,
              // A failed probe that reported no reason at all (the contract
              // says this does not happen: a safety net).
              'or',
              '  max_over_time(probe_success{%s}[%s]) == 0' % [c.smtpSelector, c.outageFor],
              '    and probe_success{%s} offset %s == 0' % [c.smtpSelector, c.outageFor],
              '    unless ignoring (%s, phase, reason) probe_smtp_failure{%s}' % [u.dialogueLabelList, c.smtpSelector],
            ]),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP probe failed',
              description: 'The SMTP probe of ' + u.where + ' has been failing at every probe for a while. '
                           + outage.seen(c),
            },
          },
          {
            alert: 'SmtpSubmissionFallback',
            // The submission prober picked 465 or 2525 because 587 fails.
            // Mail flows, but clients configured for 587 break. The 587
            // failure is required so that a module whose ports list puts
            // another port first does not fire.
            expr: u.lines([
              '(probe_smtp_submission_port{%s} > 0 and probe_smtp_submission_port{%s} != 587)' % [c.smtpSelector, c.smtpSelector],
              '  and ignoring (port, phase, reason) %s' % u.failure(c.smtpSelector, 'port="587"'),
            ]),
            'for': c.fallbackFor,
            labels: { severity: 'warning', port: '587' },
            annotations: {
              summary: 'SMTP submission falls back from port 587',
              description: 'Port 587 of {{ $labels.instance }}{{ with $labels.vantage }} from vantage {{ . }}{{ end }} '
                           + '(job {{ $labels.job }}) fails'
                           + '{{ with printf "probe_smtp_failure{job=%q,instance=%q,vantage=%q,port=\\"587\\"}" $labels.job $labels.instance $labels.vantage | query }}'
                           + '{{ with first . }} at phase {{ label "phase" . }} with reason {{ label "reason" . }}{{ end }}{{ end }}'
                           + '{{ with printf "probe_smtp_failure_reply_code{job=%q,instance=%q,vantage=%q,port=\\"587\\"}" $labels.job $labels.instance $labels.vantage | query }}, reply code {{ . | first | value }}{{ end }}; '
                           + 'the submission decision rule picked port {{ $value }}. Mail still flows, but clients '
                           + 'configured for 587 break.',
            },
          },
          {
            alert: 'SmtpProbeIntermittent',
            // Failing now and then rather than for good: a failure ratio
            // over a long window, in several separate spells (a single
            // outage that has ended is not intermittent), while no outage
            // alert covers it.
            expr: u.lines([
              'avg_over_time(probe_success{%s}[%s]) < %s' % [c.smtpSelector, c.intermittentWindow, c.intermittentMaxSuccessRatio],
              '  and count_over_time(probe_success{%s}[%s]) >= %d' % [c.smtpSelector, c.intermittentWindow, c.intermittentMinSamples],
              '  and changes(probe_success{%s}[%s]) >= %d' % [c.smtpSelector, c.intermittentWindow, c.intermittentMinChanges],
              '  unless max_over_time(probe_success{%s}[%s]) == 0' % [c.smtpSelector, c.outageFor],
            ]),
            'for': c.intermittentFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'SMTP probe fails intermittently',
              description: 'Only {{ $value | humanizePercentage }} of the probes of {{ $labels.instance }}'
                           + '{{ with $labels.vantage }} from vantage {{ . }}{{ end }} (job {{ $labels.job }}) '
                           + 'succeeded over the last %s, failing and recovering again and again. Failures: ' % c.intermittentWindow
                           + '{{ range $i, $f := printf "sum by (port, mx, address, phase, reason) (count_over_time(probe_smtp_failure{job=%%q,instance=%%q,vantage=%%q}[%s]))" $labels.job $labels.instance $labels.vantage | query | sortByLabel "reason" }}' % c.intermittentWindow
                           + '{{ if $i }}, {{ end }}{{ with label "port" $f }}port {{ . }} {{ end }}{{ with label "mx" $f }}{{ . }} {{ end }}'
                           + '{{ with label "address" $f }}{{ . }} {{ end }}{{ label "phase" $f }}/{{ label "reason" $f }} ×{{ value $f }}{{ end }}.',
            },
          },
          {
            alert: 'SmtpHandshakeSlow',
            // Successful dialogues only: a timed-out phase is a failure,
            // alerted above. The greeting gets more time because Postfix
            // postscreen delays it by up to 6s on port 25 by design.
            expr: u.lines([
              '(',
              '  probe_smtp_duration_seconds{%s, phase!="greeting"} > %s' % [c.smtpSelector, c.slowPhaseSeconds],
              '  or probe_smtp_duration_seconds{%s, phase="greeting"} > %s' % [c.smtpSelector, c.slowGreetingSeconds],
              ')',
              '  unless ignoring (phase, reason) probe_smtp_failure{%s}' % c.smtpSelector,
            ]),
            'for': c.slowFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'SMTP handshake phase is slow',
              description: 'Phase {{ $labels.phase }} of the SMTP dialogue with ' + u.where
                           + ' has been taking {{ $value | humanizeDuration }} (threshold %ss, %ss for the greeting).'
                             % [c.slowPhaseSeconds, c.slowGreetingSeconds],
            },
          },
        ],
      },
    ],
  },
}

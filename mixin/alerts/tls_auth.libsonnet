// STARTTLS, certificates and authentication, for every dialogue: a plain
// one, a submission port, an MX host (mx, preference), an address
// (address, ip_version).
local outage = import 'outage.libsonnet';
local u = import '../lib/utils.libsonnet';

{
  local c = $._config,
  local S = c.smtpSelector,
  local certReasons = 'cert_expired|cert_untrusted|cert_hostname',
  // Verified chain when it verifies, else the leaf the server presented: an
  // extra (unused) intermediate the server sends never raises an alarm.
  local expiry = '(probe_ssl_last_chain_expiry_timestamp_seconds{%s} or probe_ssl_leaf_expiry_timestamp_seconds{%s})' % [S, S],
  local expiryAlert(days, severity) = {
    alert: 'SmtpCertificateExpiringSoon',
    expr: u.lines(['%s - time() < %d * 86400' % [expiry, days]]),
    'for': c.certificateFor,
    labels: { severity: severity },
    annotations: {
      summary: 'SMTP TLS certificate expires in less than %d days' % days,
      description: 'The certificate presented by ' + u.where + ' '
                   + '{{ if ge $value 0.0 }}expires in {{ $value | humanizeDuration }}{{ else }}has already '
                   + 'expired (time left: {{ $value | humanizeDuration }}){{ end }}: the earliest expiry of its '
                   + 'verified chain, or of the leaf certificate when the chain does not verify.',
    },
  },

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'smtp_exporter.tls_auth',
        rules: [
          {
            alert: 'SmtpStartTLSMissing',
            // The probe needed STARTTLS (starttls and mx probers) and it was not offered.
            expr: outage.expr(c, ['reason="starttls_unsupported"']),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP server does not offer STARTTLS',
              description: u.where + ' does not advertise STARTTLS on its plaintext EHLO, so the STARTTLS '
                           + 'probe has been failing.'
                           + '{{ if $labels.mx }} Senders that require TLS (MTA-STS, DANE) cannot deliver mail to it.'
                           + '{{ else }} Clients that require TLS cannot submit mail.{{ end }} ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpStartTLSMissing',
            // A dialogue that passed without STARTTLS (e.g. the tcp prober
            // on port 25): mail to this server travels in plaintext.
            expr: u.lines([
              'probe_smtp_starttls_advertised{%s} == 0' % S,
              '  unless ignoring (phase, reason) probe_smtp_failure{%s}' % S,
            ]),
            'for': c.warningFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'SMTP server does not offer STARTTLS',
              description: u.where + ' does not advertise STARTTLS on its plaintext EHLO: mail exchanged with '
                           + 'it travels unencrypted.',
            },
          },
          {
            alert: 'SmtpAuthBeforeTLS',
            // fail_if_auth_before_tls is set and the plaintext EHLO offers AUTH.
            expr: outage.expr(c, ['reason="auth_before_tls"']),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP server offers AUTH before TLS',
              description: u.where + ' offers AUTH on its plaintext EHLO, before STARTTLS; the module fails '
                           + 'on this (fail_if_auth_before_tls). Credentials can be sent in clear text. '
                           + outage.seen(c),
            },
          },
          {
            alert: 'SmtpAuthBeforeTLS',
            expr: u.lines([
              'probe_smtp_auth_before_tls{%s} == 1' % S,
              '  unless ignoring (phase, reason) %s' % u.failure(S, 'reason="auth_before_tls"'),
            ]),
            'for': c.warningFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'SMTP server offers AUTH before TLS',
              description: u.where + ' offers AUTH on its plaintext EHLO, before STARTTLS. A client that '
                           + 'authenticates before upgrading sends its credentials in clear text.',
            },
          },
          {
            alert: 'SmtpAuthNotEnforced',
            // Security, not availability: fires whichever port the
            // submission prober picked. probe_smtp_auth_enforced stays put
            // while the check runs, so a plain `for:` holds.
            expr: u.lines(['probe_smtp_auth_enforced{%s} == 0' % S]),
            'for': c.outageFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP submission port accepts mail without authentication',
              description: u.where + ' accepted MAIL FROM and RCPT TO to a foreign domain without AUTH'
                           + '{{ with ' + u.dialogueQuery('probe_smtp_failure_reply_code') + ' | query }} (reply code {{ . | first | value }}){{ end }}: '
                           + 'an open submission port (RFC 6409 requires authentication). It can be abused to relay spam.',
            },
          },
          {
            alert: 'SmtpAuthCheckInconclusive',
            // check_auth_enforced got a 5xx at MAIL or RCPT that is not
            // about authentication (e.g. 550 5.1.8 bad sender domain): the
            // check proves nothing until the module is fixed.
            expr: outage.expr(c, ['reason="auth_check_inconclusive"'], availability=false),
            labels: { severity: 'warning' },
            annotations: {
              summary: 'SMTP AUTH enforcement check is inconclusive',
              description: 'The RFC 6409 check of ' + u.where + ' was refused at MAIL FROM or RCPT TO for a '
                           + 'reason other than missing authentication'
                           + '{{ with ' + u.dialogueQuery('probe_smtp_failure_reply_code') + ' | query }} (reply code {{ . | first | value }}){{ end }}, '
                           + "so it proves nothing: fix the module's mail_from / rcpt_to.",
            },
          },
          {
            alert: 'SmtpExtensionMissing',
            // smtp.require_extensions: an extension the module requires is
            // no longer advertised on the EHLO that counts (after a server
            // upgrade: SMTPUTF8, CHUNKING, REQUIRETLS…).
            expr: outage.expr(c, ['reason="extension_missing"'], availability=false),
            labels: { severity: 'warning' },
            annotations: {
              summary: 'SMTP server no longer advertises a required extension',
              description: u.where + ' does not advertise every extension its module requires '
                           + '(probe_smtp_extension_advertised says which). Clients that rely on it fall back or fail.',
            },
          },
          {
            alert: 'SmtpUnexpectedBanner',
            // smtp.greeting_regexp / smtp.ehlo_regexp do not match: a
            // different server answers (a load balancer's fallback, a
            // misrouted VIP) or its configuration changed.
            expr: outage.expr(c, ['reason="unexpected_text"'], availability=false),
            labels: { severity: 'warning' },
            annotations: {
              summary: 'SMTP greeting or EHLO text does not match the module',
              description: 'The greeting or EHLO reply of ' + u.where + ' does not match the regular expression '
                           + 'its module expects: another server may be answering. The probe log shows the text.',
            },
          },
          {
            alert: 'SmtpLegacyTLSAccepted',
            // tls_scan: TLS 1.0 or 1.1 still accepted — a routine
            // compliance finding (PCI DSS, BSI TR-02102), not an outage.
            expr: u.lines(['probe_tls_version_accepted{%s, version=~"TLS 1[.][01]"} == 1' % S]),
            'for': c.infoFor,
            labels: { severity: 'info' },
            annotations: {
              summary: 'SMTP server accepts a legacy TLS version',
              description: '{{ $labels.instance }}{{ with $labels.port }} port {{ . }}{{ end }}{{ with $labels.mx }} (MX {{ . }}){{ end }}'
                           + ' (job {{ $labels.job }}) still completes a {{ $labels.version }} handshake. '
                           + 'Disable TLS 1.0 and 1.1 unless a known client needs them.',
            },
          },
          {
            alert: 'SmtpCertificateInvalid',
            // The certificate does not verify and the probe fails on it
            // (for an MX host: under an enforce MTA-STS policy).
            expr: outage.expr(c, ['reason=~"%s"' % certReasons]),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP TLS certificate does not verify',
              description: 'The certificate presented by ' + u.where + ' does not verify, and the probe has '
                           + 'been failing on it:'
                           + '{{ if $labels.mx }} senders that check certificates (MTA-STS) refuse to deliver mail to it.'
                           + '{{ else }} clients that check certificates refuse to submit mail.{{ end }} ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpCertificateNotVerified',
            // The certificate does not verify but the probe passes:
            // opportunistic TLS on port 25 (the mx prober, or a module on
            // port 25), or a module with insecure_skip_verify. Not when a
            // validated TLSA record matches it (DANE-EE: a self-signed MX
            // certificate is correct).
            expr: u.lines([
              'probe_tls_certificate_verified{%s} == 0' % S,
              '  unless ignoring (phase, reason) %s' % u.failure(S, 'reason=~"%s"' % certReasons),
              '  unless probe_smtp_dane_match{%s} == 1' % S,
            ]),
            'for': c.warningFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'SMTP TLS certificate does not verify (the probe passes)',
              description: 'The certificate presented by ' + u.where + ' does not verify against the configured '
                           + 'roots and host name'
                           + '{{ with ' + u.dialogueQuery('probe_tls_certificate_verify_error_info') + ' | query }}{{ with first . }} ({{ label "reason" . }}){{ end }}{{ end }}. '
                           + 'The probe passes because TLS is opportunistic there (port 25) or the module skips '
                           + 'verification (insecure_skip_verify); senders and clients that verify fail.',
            },
          },
          expiryAlert(c.certificateExpiryWarningDays, 'warning'),
          expiryAlert(c.certificateExpiryCriticalDays, 'critical'),
        ],
      },
    ],
  },
}

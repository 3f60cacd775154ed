// Port 25: the mx prober reports the domain (no mx label: the MX lookup,
// the MTA-STS policy, the counts) and each MX host (mx, preference); with
// all_addresses each dialogue also has address and ip_version.
local outage = import 'outage.libsonnet';
local reasons = import 'reasons.libsonnet';
local u = import '../lib/utils.libsonnet';

{
  local c = $._config,
  local S = c.smtpSelector,
  local notSpecific = 'phase!~"%s", reason!~"%s"' % [reasons.specificPhaseRegex, reasons.specificRegex],
  local domain = 'The %s of {{ $labels.instance }}{{ with $labels.vantage }} seen from vantage {{ . }}{{ end }} (job {{ $labels.job }})',
  local dialogueQ(metric) = 'printf "%s{job=%%q,instance=%%q,vantage=%%q,mx=%%q}" $labels.job $labels.instance $labels.vantage $labels.mx' % metric,

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'smtp_exporter.port25',
        rules: [
          {
            alert: 'SmtpMxLookupFailed',
            // The domain's own resolve failure (not an MX host's address
            // lookup, which carries mx: SmtpMxHostDown).
            expr: outage.expr(c, ['mx="", address="", phase="resolve", reason!="null_mx"'], availability=false,
                              last=['  and probe_smtp_mx_hosts{%s}' % S]),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'MX records of a mail domain cannot be looked up',
              description: domain % 'MX lookup' + ' has been failing: senders whose resolvers see the same cannot '
                           + 'find where to deliver mail for the domain. They defer it, or bounce it if the domain '
                           + 'does not exist. ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpNullMx',
            expr: outage.expr(c, ['mx="", address="", phase="resolve", reason="null_mx"'], availability=false),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Mail domain publishes a null MX (accepts no mail)',
              description: '{{ $labels.instance }}{{ with $labels.vantage }} seen from vantage {{ . }}{{ end }} '
                           + '(job {{ $labels.job }}) publishes a null MX (MX 0 ., RFC 7505): it declares that it '
                           + 'accepts no mail, so senders bounce every message to it at once.',
            },
          },
          {
            alert: 'SmtpMxHostDown',
            // One MX host's dialogue fails (or its name does not resolve)
            // for a reason without an alert of its own. An address of a
            // host (all_addresses) is SmtpMxAddressDown.
            expr: outage.expr(c, ['mx!="", address="", %s' % notSpecific]),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'An MX host of a mail domain is down',
              description: 'MX host {{ $labels.mx }} (preference {{ $labels.preference }}) of {{ $labels.instance }}'
                           + '{{ with $labels.vantage }} seen from vantage {{ . }}{{ end }} (job {{ $labels.job }}) '
                           + 'has been failing at every probe for a while. ' + outage.seen(c) + ' '
                           + '{{ with printf "probe_smtp_mx_hosts_working{job=%q,instance=%q,vantage=%q}" $labels.job $labels.instance $labels.vantage | query }}{{ . | first | value }}{{ end }} of '
                           + '{{ with printf "probe_smtp_mx_hosts{job=%q,instance=%q,vantage=%q}" $labels.job $labels.instance $labels.vantage | query }}{{ . | first | value }}{{ end }} '
                           + 'MX hosts work. Senders try the next MX host after a failure (later, after a timeout), '
                           + 'and queue the mail when none works.',
            },
          },
          {
            alert: 'SmtpMxAddressDown',
            // One address of a host fails (all_addresses, with the mx prober
            // or tcp/starttls/tls on port 25), for a reason without an alert
            // of its own: also a connect timeout or a refusal.
            expr: outage.expr(c, ['address!="", %s' % notSpecific]),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'An address of an SMTP host is down',
              description: 'Address {{ $labels.address }} (IPv{{ $labels.ip_version }}) of '
                           + '{{ with $labels.mx }}MX host {{ . }} of {{ end }}{{ $labels.instance }}'
                           + '{{ with $labels.vantage }} seen from vantage {{ . }}{{ end }} (job {{ $labels.job }}) '
                           + 'has been failing at every probe for a while'
                           + '{{ with %s | query }}{{ $working := . | first | value }}' % dialogueQ('probe_smtp_addresses_working')
                           + '{{ with %s | query }} ({{ $working }} of {{ . | first | value }} addresses of the host work){{ end }}{{ end }}: ' % dialogueQ('probe_smtp_addresses')
                           + 'senders that try this address cannot deliver through it. ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpDaneMismatch',
            // No DNSSEC-validated, usable TLSA record matches the chain:
            // senders that enforce DANE (RFC 7672) will not deliver at all.
            expr: outage.expr(c, ['phase="dane", reason="dane_mismatch"']),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'SMTP certificate does not match its DANE TLSA records',
              description: 'The certificate chain of ' + u.where + ' matches none of its '
                           + '{{ with ' + u.dialogueQuery('probe_smtp_dane_records') + ' | query }}{{ . | first | value }} {{ end }}'
                           + 'DNSSEC-validated TLSA records: senders that enforce DANE refuse to deliver mail to it. '
                           + 'Typically a certificate or key renewed without publishing its TLSA record first.',
            },
          },
          {
            alert: 'SmtpDaneTlsaLookupFailed',
            // The TLSA lookup failed (SERVFAIL, timeout): senders that
            // enforce DANE defer mail to the host while it fails.
            expr: outage.expr(c, ['phase="dane", reason!="dane_mismatch"']),
            labels: { severity: 'critical' },
            annotations: {
              summary: 'DANE TLSA lookup fails',
              description: 'The TLSA lookup for ' + u.where + ' has been failing: senders that enforce DANE '
                           + 'defer mail to this host while its signed zone cannot answer. ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpDaneUnvalidated',
            // TLSA records exist but the answer is not DNSSEC-validated:
            // they are ignored, by the exporter as by senders.
            expr: u.lines([
              'probe_smtp_dane_records{%s} > 0' % S,
              '  and probe_smtp_dane_validated{%s} == 0' % S,
            ]),
            'for': c.infoFor,
            labels: { severity: 'info' },
            annotations: {
              summary: 'DANE TLSA records are not DNSSEC-validated',
              description: u.where + ' has TLSA records ({{ $value }}), but the resolver did not validate them '
                           + 'with DNSSEC (no AD bit): they are ignored, as senders ignore them, so DANE protects '
                           + "nothing. Either the zone is not signed (or lacks its DS record), or the exporter's "
                           + 'dns_resolver does not validate.',
            },
          },
          {
            alert: 'SmtpMtaStsPolicyBroken',
            // The domain's policy cannot be used: TXT record or policy
            // missing or invalid (mta_sts_policy), or the fetch failed.
            expr: outage.expr(c, ['mx="", address="", phase="mta_sts"'], availability=false),
            labels: { severity: 'warning' },
            annotations: {
              summary: 'MTA-STS policy of a mail domain is missing or cannot be fetched',
              description: domain % 'MTA-STS policy' + ' cannot be used: the _mta-sts TXT record or the policy at '
                           + 'https://mta-sts.{{ $labels.instance }}/.well-known/mta-sts.txt is missing, invalid or '
                           + 'unreachable. Senders that cached the policy keep applying it until its max_age runs '
                           + 'out; the others deliver without MTA-STS protection. ' + outage.seen(c),
            },
          },
          {
            alert: 'SmtpMtaStsMxMismatch',
            // Under enforce, senders will not deliver to an MX host the
            // policy's mx patterns do not name. Per MX host, from
            // probe_smtp_mta_sts_mx_match, which stays put.
            expr: u.lines([
              'probe_smtp_mta_sts_mx_match{%s} == 0' % S,
              '  and ignoring (mx, preference, mode) probe_smtp_mta_sts_mode_info{%s, mode="enforce"}' % S,
            ]),
            'for': c.outageFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'MTA-STS policy (enforce) does not name an MX host',
              description: domain % 'enforce MTA-STS policy' + ' does not name MX host {{ $labels.mx }} '
                           + '(preference {{ $labels.preference }}) in its mx patterns: senders that apply '
                           + 'MTA-STS refuse to deliver mail to that host.',
            },
          },
          {
            alert: 'SmtpMtaStsMxMismatch',
            // Under testing, senders deliver and only report (TLS-RPT).
            expr: u.lines([
              'probe_smtp_mta_sts_mx_match{%s} == 0' % S,
              '  and ignoring (mx, preference, mode) probe_smtp_mta_sts_mode_info{%s, mode="testing"}' % S,
            ]),
            'for': c.warningFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'MTA-STS policy (testing) does not name an MX host',
              description: domain % 'testing MTA-STS policy' + ' does not name MX host {{ $labels.mx }} '
                           + '(preference {{ $labels.preference }}) in its mx patterns: senders deliver but report '
                           + 'the failure; switched to enforce, the policy would make them refuse that host.',
            },
          },
          {
            alert: 'SmtpTlsRptMissing',
            // mx.tls_rpt: a domain with MTA-STS or DANE should publish a
            // TLS-RPT record (RFC 8460) to hear of senders' TLS failures.
            expr: u.lines(['probe_smtp_tlsrpt_record{%s} == 0 or probe_smtp_tlsrpt_rua_valid{%s} == 0' % [S, S]]),
            'for': c.infoFor,
            labels: { severity: 'info' },
            annotations: {
              summary: 'Domain publishes no usable TLS-RPT record',
              description: domain % 'TLS-RPT record (_smtp._tls)' + ' is missing, duplicated or names no mailto: '
                           + 'or https: report address: senders cannot report TLS failures to it.',
            },
          },
          {
            alert: 'SmtpMtaStsNotEnforced',
            expr: u.lines(['probe_smtp_mta_sts_mode_info{%s, mode!="enforce"} == 1' % S]),
            'for': c.infoFor,
            labels: { severity: 'info' },
            annotations: {
              summary: 'MTA-STS policy is not in enforce mode',
              description: domain % 'MTA-STS policy' + ' is in mode {{ $labels.mode }}: senders do not require '
                           + 'TLS with a valid certificate to deliver, so a downgrade or a spoofed MX goes unnoticed.',
            },
          },
        ],
      },
    ],
  },
}

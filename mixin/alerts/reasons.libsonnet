// Which alert owns a failure (probe_smtp_failure{phase, reason}). Each
// failure belongs to exactly one alert, so a failed probe raises one alert
// per problem. The alerts' selectors are built from these lists, the
// reason-coverage tests (dashboards/smtp_exporter.reasons_test.yml) from
// `cases`, and mixin/mixin_test.go checks that every reason the prober
// defines is listed here.
{
  // Reasons with an alert of their own in every dialogue (a plain probe, a
  // submission port, an MX host, an address).
  specific: {
    starttls_unsupported: 'SmtpStartTLSMissing',
    auth_before_tls: 'SmtpAuthBeforeTLS',
    auth_not_enforced: 'SmtpAuthNotEnforced',
    cert_expired: 'SmtpCertificateInvalid',
    cert_untrusted: 'SmtpCertificateInvalid',
    cert_hostname: 'SmtpCertificateInvalid',
    auth_check_inconclusive: 'SmtpAuthCheckInconclusive',
    secret_unreadable: 'SmtpExporterSecretUnreadable',
    token_unavailable: 'SmtpExporterTokenUnavailable',
    extension_missing: 'SmtpExtensionMissing',
    unexpected_text: 'SmtpUnexpectedBanner',
    // A panic inside the exporter: smtp_exporter_probe_panics_total.
    internal: 'SmtpExporterProbePanics',
  },
  specificRegex: std.join('|', std.objectFields(self.specific)),

  // Phases with alerts of their own (any reason): DANE's TLSA check and
  // MTA-STS (the domain's policy; an MX host the policy does not name).
  specificPhases: ['dane', 'mta_sts'],
  specificPhaseRegex: std.join('|', self.specificPhases),

  // Everything else is an availability failure ("generic"): on a plain
  // dialogue (no mx, no address label) three of them have names of their
  // own, the rest is SmtpProbeFailed; on an MX host it is SmtpMxHostDown, on
  // an address SmtpMxAddressDown, whatever the reason.
  plainNamed: [
    { phase: 'connect', reason: 'timeout', alert: 'SmtpPortBlocked' },
    { phase: '', reason: 'refused', alert: 'SmtpPortRefused' },
    { phase: 'greeting', reason: 'unexpected_code', alert: 'SmtpGreetingNotReady' },
  ],

  // Reasons of the contract (and the prober) that only the generic alerts
  // own. The test in mixin/ fails when the prober defines a reason that is
  // in neither list, nor phase-bound below.
  generic: ['dns', 'timeout', 'refused', 'unreachable', 'reset', 'bad_reply', 'unexpected_code',
            'tls_handshake', 'auth_unsupported', 'auth_failed', 'forbidden'],

  // Reasons that occur at one phase only, with their alert.
  phaseBound: {
    null_mx: 'SmtpNullMx',  // resolve, the domain
    dane_mismatch: 'SmtpDaneMismatch',  // dane
    mta_sts_policy: 'SmtpMtaStsPolicyBroken',  // mta_sts, the domain
    mta_sts_mx_mismatch: 'SmtpMtaStsMxMismatch',  // mta_sts, an MX host
  },

  // One steady failure per case: `scope` says where the series sits (plain:
  // a starttls probe; port: the submission prober with every port failing;
  // mx: an MX host of the mx prober; address: an address of an MX host with
  // all_addresses; domain: the mx prober's domain) and `alert` the only alert
  // that must fire for it.
  cases: [
    { scope: 'plain', phase: 'connect', reason: 'timeout', alert: 'SmtpPortBlocked' },
    { scope: 'port', phase: 'connect', reason: 'timeout', alert: 'SmtpPortBlocked' },
    { scope: 'mx', phase: 'connect', reason: 'timeout', alert: 'SmtpMxHostDown' },
    { scope: 'address', phase: 'connect', reason: 'timeout', alert: 'SmtpMxAddressDown' },
    { scope: 'plain', phase: 'ehlo', reason: 'timeout', alert: 'SmtpProbeFailed' },
    { scope: 'plain', phase: 'connect', reason: 'refused', alert: 'SmtpPortRefused' },
    { scope: 'port', phase: 'connect', reason: 'refused', alert: 'SmtpPortRefused' },
    { scope: 'mx', phase: 'connect', reason: 'refused', alert: 'SmtpMxHostDown' },
    { scope: 'address', phase: 'connect', reason: 'refused', alert: 'SmtpMxAddressDown' },
    { scope: 'plain', phase: 'greeting', reason: 'unexpected_code', alert: 'SmtpGreetingNotReady' },
    { scope: 'mx', phase: 'greeting', reason: 'unexpected_code', alert: 'SmtpMxHostDown' },
    { scope: 'plain', phase: 'starttls', reason: 'unexpected_code', alert: 'SmtpProbeFailed' },
    { scope: 'plain', phase: 'resolve', reason: 'dns', alert: 'SmtpProbeFailed' },
    { scope: 'mx', phase: 'resolve', reason: 'dns', alert: 'SmtpMxHostDown' },
    { scope: 'domain', phase: 'resolve', reason: 'dns', alert: 'SmtpMxLookupFailed' },
    { scope: 'domain', phase: 'resolve', reason: 'timeout', alert: 'SmtpMxLookupFailed' },
    { scope: 'domain', phase: 'resolve', reason: 'null_mx', alert: 'SmtpNullMx' },
    { scope: 'plain', phase: 'connect', reason: 'unreachable', alert: 'SmtpProbeFailed' },
    { scope: 'address', phase: 'connect', reason: 'unreachable', alert: 'SmtpMxAddressDown' },
    { scope: 'plain', phase: 'ehlo', reason: 'reset', alert: 'SmtpProbeFailed' },
    { scope: 'plain', phase: 'ehlo', reason: 'bad_reply', alert: 'SmtpProbeFailed' },
    { scope: 'port', phase: 'tls', reason: 'tls_handshake', alert: 'SmtpProbeFailed' },
    { scope: 'mx', phase: 'tls', reason: 'tls_handshake', alert: 'SmtpMxHostDown' },
    { scope: 'plain', phase: 'ehlo', reason: 'starttls_unsupported', alert: 'SmtpStartTLSMissing' },
    { scope: 'mx', phase: 'ehlo', reason: 'starttls_unsupported', alert: 'SmtpStartTLSMissing' },
    { scope: 'plain', phase: 'tls', reason: 'cert_expired', alert: 'SmtpCertificateInvalid' },
    { scope: 'port', phase: 'tls', reason: 'cert_untrusted', alert: 'SmtpCertificateInvalid' },
    { scope: 'mx', phase: 'tls', reason: 'cert_hostname', alert: 'SmtpCertificateInvalid' },
    { scope: 'plain', phase: 'auth', reason: 'auth_unsupported', alert: 'SmtpProbeFailed' },
    { scope: 'port', phase: 'auth', reason: 'auth_failed', alert: 'SmtpProbeFailed' },
    { scope: 'plain', phase: 'mail', reason: 'auth_not_enforced', alert: 'SmtpAuthNotEnforced' },
    { scope: 'plain', phase: 'ehlo', reason: 'auth_before_tls', alert: 'SmtpAuthBeforeTLS' },
    { scope: 'plain', phase: 'mail', reason: 'auth_check_inconclusive', alert: 'SmtpAuthCheckInconclusive' },
    { scope: 'port', phase: 'auth', reason: 'secret_unreadable', alert: 'SmtpExporterSecretUnreadable' },
    { scope: 'plain', phase: 'auth', reason: 'token_unavailable', alert: 'SmtpExporterTokenUnavailable' },
    { scope: 'plain', phase: 'ehlo', reason: 'extension_missing', alert: 'SmtpExtensionMissing' },
    { scope: 'port', phase: 'greeting', reason: 'unexpected_text', alert: 'SmtpUnexpectedBanner' },
    { scope: 'plain', phase: 'connect', reason: 'internal', alert: 'SmtpExporterProbePanics' },
    { scope: 'mx', phase: 'dane', reason: 'dane_mismatch', alert: 'SmtpDaneMismatch' },
    { scope: 'address', phase: 'dane', reason: 'dns', alert: 'SmtpDaneTlsaLookupFailed' },
    { scope: 'domain', phase: 'mta_sts', reason: 'mta_sts_policy', alert: 'SmtpMtaStsPolicyBroken' },
    { scope: 'domain', phase: 'mta_sts', reason: 'refused', alert: 'SmtpMtaStsPolicyBroken' },
    { scope: 'mx', phase: 'mta_sts', reason: 'mta_sts_mx_mismatch', alert: 'SmtpMtaStsMxMismatch' },
    { scope: 'mx', phase: 'connect', reason: 'forbidden', alert: 'SmtpMxHostDown' },
  ],
}

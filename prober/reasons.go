package prober

// Reason says why a probe failed; the values are the contract's `reason` label.
type Reason string

// The failure reasons of the contract. Each has its one explanation in reasons below.
const (
	ReasonDNS                   Reason = "dns"
	ReasonTimeout               Reason = "timeout"
	ReasonRefused               Reason = "refused"
	ReasonUnreachable           Reason = "unreachable"
	ReasonReset                 Reason = "reset"
	ReasonBadReply              Reason = "bad_reply"
	ReasonUnexpectedCode        Reason = "unexpected_code"
	ReasonUnexpectedText        Reason = "unexpected_text"
	ReasonExtensionMissing      Reason = "extension_missing"
	ReasonStartTLSUnsupported   Reason = "starttls_unsupported"
	ReasonTLSHandshake          Reason = "tls_handshake"
	ReasonCertExpired           Reason = "cert_expired"
	ReasonCertUntrusted         Reason = "cert_untrusted"
	ReasonCertHostname          Reason = "cert_hostname"
	ReasonAuthUnsupported       Reason = "auth_unsupported"
	ReasonAuthFailed            Reason = "auth_failed"
	ReasonAuthNotEnforced       Reason = "auth_not_enforced"
	ReasonAuthBeforeTLS         Reason = "auth_before_tls"
	ReasonAuthCheckInconclusive Reason = "auth_check_inconclusive"
	ReasonSecretUnreadable      Reason = "secret_unreadable"
	ReasonTokenUnavailable      Reason = "token_unavailable"
	ReasonNullMX                Reason = "null_mx"
	ReasonDANEMismatch          Reason = "dane_mismatch"
	ReasonMTASTSPolicy          Reason = "mta_sts_policy"
	ReasonMTASTSMXMismatch      Reason = "mta_sts_mx_mismatch"
	ReasonForbidden             Reason = "forbidden"
	ReasonInternal              Reason = "internal"
)

// reasonInfo is what the code knows of a reason.
type reasonInfo struct {
	reason Reason
	// explanation says in words what the failure most likely means for an
	// SRE: `check` prints it, and the README's reason table is this list.
	explanation string
	// answered marks failures the server answered cleanly: the dialogue
	// then says QUIT before closing, as a polite client does.
	answered bool
}

// reasons is every Reason, in the README's order.
var reasons = []reasonInfo{
	{ReasonDNS, "the name does not resolve", false},
	{ReasonTimeout, "no answer before the deadline; at `connect` the port is likely filtered by a firewall silently dropping packets: **the port is blocked** — unless `smtp_exporter_connection_waits_total{result=\"deadline\"}` grows: then the exporter's own `--probe.max-connections` left no slot", false},
	{ReasonRefused, "connection refused (RST): nothing listening, or a firewall rejecting", false},
	{ReasonUnreachable, "no route to the host (ICMP unreachable)", false},
	{ReasonReset, "the server closed or reset the connection mid-dialogue", false},
	{ReasonBadReply, "the server's reply is not valid SMTP: garbage, over-long, no newline, endless multi-line", false},
	{ReasonUnexpectedCode, "a reply code the dialogue did not expect: 421/554 greeting, 454 to STARTTLS, a 4xx in the auth check (`probe_smtp_failure_reply_code` has it)", true},
	{ReasonUnexpectedText, "the greeting (at `greeting`) or the EHLO reply that counts (at `ehlo`) does not match `smtp.greeting_regexp` / `smtp.ehlo_regexp`: another server or software answers than expected. The probe log quotes the text", true},
	{ReasonExtensionMissing, "at `ehlo`: the EHLO that counts (after TLS where TLS is used) does not advertise an extension of `smtp.require_extensions` (SMTPUTF8, CHUNKING… gone after an upgrade?); the probe log names the missing ones, `probe_smtp_extension_advertised{extension}` shows each", true},
	{ReasonStartTLSUnsupported, "STARTTLS is not offered", true},
	{ReasonTLSHandshake, "the TLS handshake failed: wrong port type (plaintext on a TLS port), or no common version or cipher", false},
	{ReasonCertExpired, "the certificate has expired or is not yet valid", true},
	{ReasonCertUntrusted, "the certificate is not signed by a trusted CA", true},
	{ReasonCertHostname, "the certificate does not name this host", true},
	{ReasonAuthUnsupported, "AUTH (or the configured mechanism) is not offered after TLS", true},
	{ReasonAuthFailed, "the server refused the credentials (535…)", true},
	{ReasonAuthNotEnforced, "MAIL and RCPT to a foreign domain were accepted without AUTH: an open submission port", true},
	{ReasonAuthBeforeTLS, "AUTH is offered before TLS (with `fail_if_auth_before_tls`)", true},
	{ReasonSecretUnreadable, "at `auth`: the AUTH password could not be read (`password_file` gone, not a regular file or over 64 KiB; `password_env` unset; the same for `bearer_token_file` and `oauth2.client_secret_file`, or a token file that holds no bearer token). Nothing was sent: fix the exporter's side. The probe log names the file or variable", true},
	{ReasonTokenUnavailable, "at `auth`: the OAuth2 token endpoint (`smtp.auth.oauth2.token_url`) gave no token: unreachable, timed out, or refused the client (HTTP 400/401: wrong client secret, expired secret, wrong tenant or scope). Nothing was sent to the SMTP server; the probe log has the endpoint's status and error", true},
	{ReasonAuthCheckInconclusive, "at `mail`: the RFC 6409 check got a 5xx that is not about authentication or relaying (a sender domain that does not resolve, `550 5.1.8`; a syntax error, `501`): it proves nothing; fix `mail_from`/`rcpt_to` (`probe_smtp_failure_reply_code` has the code)", true},
	{ReasonNullMX, "at `resolve`: the domain publishes a null MX (`MX 0 .`): it accepts no mail", false},
	{ReasonDANEMismatch, "at `dane`: the certificate matches none of the host's DNSSEC-validated, usable TLSA records; DANE senders will not deliver (stale TLSA after a renewal?)", true},
	{ReasonMTASTSPolicy, "at `mta_sts`: no usable MTA-STS policy (TXT record missing, duplicated or invalid; policy not 200, not `text/plain` or invalid)", false},
	{ReasonMTASTSMXMismatch, "at `mta_sts`: the `enforce` policy's `mx` patterns do not name this MX host; MTA-STS senders will not deliver", false},
	{ReasonForbidden, "part of a probe (a backup MX, an address, the policy host) lies outside `allowed_targets` and was not dialled", false},
	{ReasonInternal, "the exporter panicked during that phase: a bug of smtp_exporter, not of the server. Only that dialogue fails; the stack is in the process log at error level and `smtp_exporter_probe_panics_total` counts it. Please report it", false},
}

func (r Reason) info() reasonInfo {
	for _, i := range reasons {
		if i.reason == r {
			return i
		}
	}
	return reasonInfo{reason: r, explanation: string(r)}
}

// Explanation says in words what the reason most likely means.
func (r Reason) Explanation() string { return r.info().explanation }

// Reasons lists every reason in the README's order.
func Reasons() []Reason {
	out := make([]Reason, len(reasons))
	for i, info := range reasons {
		out[i] = info.reason
	}
	return out
}

// Package prober talks SMTP. It knows nothing of Prometheus or HTTP: a probe
// returns a Result value, and collector/ turns it into metrics.
package prober

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// Phase is a step of the dialogue; the values are the contract's `phase` label.
type Phase string

// The phases, in the order a dialogue runs them.
const (
	PhaseResolve  Phase = "resolve"
	PhaseConnect  Phase = "connect"
	PhaseGreeting Phase = "greeting"
	PhaseEHLO     Phase = "ehlo"
	PhaseStartTLS Phase = "starttls"
	PhaseTLS      Phase = "tls"
	PhaseAuth     Phase = "auth"
	PhaseMail     Phase = "mail"
	PhaseQuit     Phase = "quit"
	// PhaseDANE is the TLSA lookup and match after the handshake (dane: true).
	PhaseDANE Phase = "dane"
	// PhaseMTASTS is the MTA-STS policy fetch and the MX hosts' check against it (mx.mta_sts).
	PhaseMTASTS Phase = "mta_sts"
)

// Reason says why a probe failed; the values are the contract's `reason` label.
type Reason string

// The failure reasons of the contract.
const (
	ReasonDNS                 Reason = "dns"
	ReasonTimeout             Reason = "timeout"
	ReasonRefused             Reason = "refused"
	ReasonUnreachable         Reason = "unreachable"
	ReasonReset               Reason = "reset"
	ReasonBadReply            Reason = "bad_reply"
	ReasonUnexpectedCode      Reason = "unexpected_code"
	ReasonStartTLSUnsupported Reason = "starttls_unsupported"
	ReasonTLSHandshake        Reason = "tls_handshake"
	ReasonCertExpired         Reason = "cert_expired"
	ReasonCertUntrusted       Reason = "cert_untrusted"
	ReasonCertHostname        Reason = "cert_hostname"
	ReasonAuthUnsupported     Reason = "auth_unsupported"
	ReasonAuthFailed          Reason = "auth_failed"
	ReasonAuthNotEnforced     Reason = "auth_not_enforced"
	ReasonAuthBeforeTLS       Reason = "auth_before_tls"
	ReasonNullMX              Reason = "null_mx"             // the domain publishes "MX 0 ." (RFC 7505): it takes no mail
	ReasonDANEMismatch        Reason = "dane_mismatch"       // no validated, usable TLSA record matches the chain
	ReasonMTASTSPolicy        Reason = "mta_sts_policy"      // no valid MTA-STS TXT record or policy
	ReasonMTASTSMXMismatch    Reason = "mta_sts_mx_mismatch" // enforce policy whose mx patterns do not name this MX host
	// ReasonForbidden: the address is outside allowed_targets and was not
	// dialled. A probe forbidden whole is answered 403; only a forbidden part
	// of one (a backup MX, the MTA-STS policy host) is exported with it.
	ReasonForbidden Reason = "forbidden"
	// ReasonSecretUnreadable, at auth: the AUTH password could not be read
	// (password_file gone, not a regular file or too large; password_env
	// unset). Nothing was sent: the exporter's side needs fixing, not the server.
	ReasonSecretUnreadable Reason = "secret_unreadable"
)

// ErrTargetForbidden is an address outside the config's allowed_targets; it was not dialled.
var ErrTargetForbidden = errors.New("target not in allowed_targets")

// Failure is why a probe failed: where, which kind, the deciding reply code
// (0 when no reply decided it) and the underlying error for logs.
type Failure struct {
	Phase  Phase
	Reason Reason
	Code   int
	Err    error
}

func (f *Failure) Error() string {
	msg := string(f.Phase) + "/" + string(f.Reason)
	if f.Err != nil {
		msg += ": " + f.Err.Error()
	}
	return msg
}

// Timing is how long one phase took.
type Timing struct {
	Phase    Phase
	Duration time.Duration
}

// Result is everything one dialogue observed. Pointer fields are nil when
// the probe did not get far enough to observe them; they are then not reported.
type Result struct {
	IPProtocol   int // 4 or 6, 0 when nothing resolved
	Reachable    bool
	Timings      []Timing
	GreetingCode int // 0 when no greeting arrived

	StartTLSAdvertised *bool
	AuthAdvertised     *bool
	AuthBeforeTLS      *bool
	AuthSuccess        *bool
	AuthEnforced       *bool
	SizeLimit          *int64

	TLS     *TLSInfo
	Failure *Failure

	// Ports is filled by the submission prober only: one Result per port, in preference order.
	Ports []PortResult
	// SubmissionPort is the port the decision rule picks, 0 if none works (submission only).
	SubmissionPort int

	// Addresses is non-nil with all_addresses: one dialogue per address of the host.
	Addresses []AddressResult
	// MX is filled by the mx prober: the domain's MX hosts and their dialogues.
	MX *MXResult
	// DANE is what the TLSA check found, with dane: true once TLS is up.
	DANE *DANEResult
}

// PortResult is one port's dialogue within a submission probe.
type PortResult struct {
	Port   int
	Result *Result
}

// Success is true when every step of the module passed.
func (r *Result) Success() bool {
	if r.Ports != nil {
		return r.SubmissionPort != 0
	}
	if r.Failure != nil {
		return false
	}
	for _, a := range r.Addresses {
		if !a.Result.Success() {
			return false
		}
	}
	if r.MX != nil {
		return r.MX.Success()
	}
	return true
}

// Duration returns a phase's time, summed if it ran more than once (EHLO runs twice around STARTTLS).
func (r *Result) Duration(p Phase) (time.Duration, bool) {
	var d time.Duration
	found := false
	for _, t := range r.Timings {
		if t.Phase == p {
			d += t.Duration
			found = true
		}
	}
	return d, found
}

// Target is where to probe: a host name or IP literal and a port (0 for the submission and mx probers).
type Target struct {
	Host string
	Port int
	// Addr, when valid, is dialled instead of resolving Host, which still
	// names the server for TLS, DANE and allowed_targets (all_addresses, mx).
	Addr netip.Addr
}

// ProbeFn runs one probe. It must return before ctx's deadline passes, whatever the peer does.
type ProbeFn func(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result

// Probers maps each name in config.ProberNames to its implementation.
var Probers = map[string]ProbeFn{
	"tcp":        eachAddress(ProbeTCP),
	"starttls":   eachAddress(ProbeStartTLS),
	"tls":        eachAddress(ProbeTLS),
	"submission": ProbeSubmission,
	"mx":         ProbeMX,
}

func boolPtr(b bool) *bool { return &b }

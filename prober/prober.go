// Package prober talks SMTP. It knows nothing of Prometheus or HTTP: a probe
// returns a Result value, and collector/ turns it into metrics.
package prober

import (
	"context"
	"errors"
	"log/slog"
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
	// ReasonForbidden is never exported as a metric: the handler answers 403.
	ReasonForbidden Reason = "forbidden"
)

// ErrTargetForbidden is a target outside the config's allowed_targets; no connection was made.
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
	return r.Failure == nil
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

// Target is where to probe: a host name or IP literal and a port (0 for the submission prober).
type Target struct {
	Host string
	Port int
}

// ProbeFn runs one probe. It must return before ctx's deadline passes, whatever the peer does.
type ProbeFn func(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result

// Probers maps each name in config.ProberNames to its implementation.
var Probers = map[string]ProbeFn{
	"tcp":        ProbeTCP,
	"starttls":   ProbeStartTLS,
	"tls":        ProbeTLS,
	"submission": ProbeSubmission,
}

func boolPtr(b bool) *bool { return &b }

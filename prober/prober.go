// Package prober talks SMTP. It knows nothing of Prometheus or HTTP: a probe
// returns a Result value, and collector/ turns it into metrics.
package prober

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// Phase is a step of the dialogue; the values are the contract's `phase` label.
type Phase string

// The phases of the contract.
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

// Phases are every phase in the order they are reported (metrics, pages,
// check): the dialogue's order, then the checks after it.
var Phases = []Phase{
	PhaseResolve, PhaseConnect, PhaseGreeting, PhaseEHLO, PhaseStartTLS,
	PhaseTLS, PhaseDANE, PhaseAuth, PhaseMail, PhaseQuit, PhaseMTASTS,
}

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
	// Extensions are smtp.require_extensions, each with whether the EHLO
	// that counts advertised it; nil when none are required or that EHLO did not run.
	Extensions []Extension

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
	// Source is the source_ip_address the dialogue dialled from; zero: the system's choice.
	Source netip.Addr
	// TLSVersions is what tls_scan found, oldest version first: only the
	// versions whose try was conclusive.
	TLSVersions []TLSVersionAccepted

	// Dials counts the connections the whole probe dialled (SMTP and the
	// MTA-STS fetch), set by Run on the probe's own Result: 0 means no
	// connection left the exporter.
	Dials int
}

// PortResult is one port's dialogue within a submission probe.
type PortResult struct {
	Port   int
	Result *Result
}

// Success is true when every step of the module passed: for the submission
// prober, when a port works; otherwise when the probe itself and everything
// nested in it passed (every address, every MX host: a dead backup MX loses
// mail silently, since senders that reach it queue there or bounce).
func (r *Result) Success() bool {
	if r.Ports != nil {
		return r.SubmissionPort != 0
	}
	if r.Failure != nil || (r.MX != nil && len(r.MX.Hosts) == 0) {
		return false
	}
	return r.Working() == len(r.Children())
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

// Probe runs one probe of the module's kind (config.Kinds): by what its
// target names, one server, a host's submission ports, or a domain's MX hosts.
func Probe(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result {
	k, ok := config.KindOf(m.Prober)
	if !ok {
		return &Result{Failure: failWith(PhaseResolve, ReasonInternal, 0, fmt.Errorf("unknown prober %q", m.Prober))}
	}
	switch k.Shape {
	case config.Host:
		return probeSubmission(ctx, t, m, logger)
	case config.Domain:
		return probeMX(ctx, t, m, k.Transport, logger)
	}
	return server(k.Transport)(ctx, t, m, logger)
}

func boolPtr(b bool) *bool { return &b }

package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// dialogue is one probe's conversation with one server: each step is a
// method that records its timing and observations in res and returns a
// Failure to stop the dialogue.
type dialogue struct {
	target    Target
	mod       config.Module
	transport config.Transport
	logger    *slog.Logger
	res       *Result

	c            *conn
	stopDeadline func() bool
	phase        Phase        // the step running, for a panic's failure
	caps         capabilities // from the latest EHLO
	// certErr is a certificate verdict held back for the DANE step: a
	// validated TLSA match authenticates a certificate PKIX does not (RFC 7672).
	certErr error
	// tokenRefusal is the error challenge of a server that refused the
	// token (XOAUTH2, OAUTHBEARER), in words for the failure.
	tokenRefusal string
	addr         netip.Addr // the address dialled
	// scanVersion is the one TLS version a tls_scan connection offers.
	scanVersion uint16
}

// step is one step of a dialogue, a method expression such as
// (*dialogue).ehlo: the tables of steps below are built once, not for every
// probe (a method value bound to a dialogue is an allocation).
type step func(d *dialogue, ctx context.Context) *Failure

// The steps after connecting, by transport. STARTTLS (RFC 3207): the DANE
// check right after the handshake, then EHLO again.
var (
	plainSteps    = []step{(*dialogue).greeting, (*dialogue).ehlo, (*dialogue).quit}
	implicitSteps = []step{(*dialogue).handshake, (*dialogue).greeting, (*dialogue).ehlo, (*dialogue).checkAuthEnforced,
		(*dialogue).auth, (*dialogue).quit}
	startTLSSteps = []step{(*dialogue).greeting, (*dialogue).ehlo, (*dialogue).startTLS, (*dialogue).handshake,
		(*dialogue).dane, (*dialogue).ehlo, (*dialogue).checkAuthEnforced, (*dialogue).auth, (*dialogue).quit}
)

// server returns the probe of one server over tr: one dialogue, or with
// all_addresses one per address.
func server(tr config.Transport) ProbeFn {
	return eachAddress(func(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result {
		d := newDialogue(t, m, tr, logger)
		res := d.run(ctx, d.steps())
		scanTLS(ctx, d)
		return res
	})
}

func newDialogue(t Target, m config.Module, tr config.Transport, logger *slog.Logger) *dialogue {
	// Room for a STARTTLS dialogue's timings (connect to QUIT) at once.
	res := &Result{Timings: make([]Timing, 0, 8)}
	return &dialogue{target: t, mod: m, transport: tr, logger: logger, res: res, phase: PhaseConnect}
}

// steps are the dialogue's steps after connecting, by its transport.
func (d *dialogue) steps() []step {
	switch d.transport {
	case config.Plain:
		return plainSteps
	case config.ImplicitTLS:
		return implicitSteps
	}
	return startTLSSteps
}

// run connects, runs the steps in order until one fails, and always closes.
// A panic in a step fails the dialogue at the step's phase with reason internal.
func (d *dialogue) run(ctx context.Context, steps []step) (res *Result) {
	defer d.close()
	defer func() {
		if v := recover(); v != nil {
			d.res.Failure = recovered(ctx, d.phase, v, d.logger)
			res = d.res
		}
	}()
	f := d.connect(ctx)
	for i := 0; f == nil && i < len(steps); i++ {
		f = steps[i](d, ctx)
	}
	if f != nil {
		d.res.Failure = f
		// Info, not debug: a transcript whose budget the server's lines used up still keeps it.
		d.logger.Info("probe step failed", "phase", f.Phase, "reason", f.Reason, "code", f.Code, "err", f.Err)
		d.politeQuit(ctx, f)
	}
	return d.res
}

// begin starts phase p: where a panic is reported, and the start of its time.
func (d *dialogue) begin(p Phase) time.Time {
	d.phase = p
	return time.Now()
}

func (d *dialogue) timed(p Phase, start time.Time) {
	d.res.Timings = append(d.res.Timings, Timing{Phase: p, Duration: time.Since(start)})
}

func (d *dialogue) close() {
	if d.c == nil {
		return
	}
	d.stopDeadline()
	_ = d.c.raw.Close()
}

// quitWait bounds the wait for the 221 after a failure: long enough for a
// server that answers QUIT late (Dovecot's submission service answers once
// its relay session is up), short enough not to hold a failed probe.
const quitWait = time.Second

// politeQuit says QUIT after a failure the server answered cleanly (and only
// once it has greeted: talking first trips pregreet tests), and waits
// briefly for the 221 so the server logs a clean end rather than a lost
// connection. The waits never pass the probe's deadline.
func (d *dialogue) politeQuit(ctx context.Context, f *Failure) {
	if d.c == nil || f.Phase == PhaseQuit || !f.Reason.info().answered {
		return
	}
	if d.res.GreetingCode == 0 && !d.greetedAfterHandshake(ctx) {
		return
	}
	Log(d.logger, slog.LevelDebug, "C: QUIT")
	if _, err := d.c.raw.Write([]byte("QUIT\r\n")); err != nil {
		return
	}
	_, _ = d.replyWithin(ctx, quitWait)
}

// greetedAfterHandshake: on implicit TLS the certificate is judged before the
// greeting step; with TLS up, the server's greeting is read (not measured)
// so that QUIT does not come before it.
func (d *dialogue) greetedAfterHandshake(ctx context.Context) bool {
	if !d.c.tls {
		return false
	}
	rep, err := d.replyWithin(ctx, quitWait)
	return err == nil && rep.code/100 == 2
}

// replyWithin reads one reply, waiting at most wait and never past the deadline.
func (d *dialogue) replyWithin(ctx context.Context, wait time.Duration) (reply, error) {
	until := time.Now().Add(wait)
	if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
		until = dl
	}
	_ = d.c.raw.SetReadDeadline(until)
	return d.c.readReply()
}

// wantCode turns a reply with another code than want into a codeError.
func wantCode(rep reply, err error, want int) error {
	if err == nil && rep.code != want {
		return newCodeError(rep)
	}
	return err
}

func (d *dialogue) greeting(context.Context) *Failure {
	start := d.begin(PhaseGreeting)
	rep, err := d.c.readReply()
	d.timed(PhaseGreeting, start)
	if err != nil {
		return fail(PhaseGreeting, err)
	}
	d.res.GreetingCode = rep.code
	if err := wantCode(rep, nil, d.mod.SMTP.ExpectGreetingCode); err != nil {
		return fail(PhaseGreeting, err)
	}
	return d.expectGreeting(rep)
}

func (d *dialogue) ehloName() string {
	if d.mod.SMTP.EHLO != "" {
		return d.mod.SMTP.EHLO
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// ehlo greets the server and records what it advertises. On the plaintext
// EHLO of a STARTTLS dialogue it also records AUTH offered before TLS.
func (d *dialogue) ehlo(context.Context) *Failure {
	start := d.begin(PhaseEHLO)
	rep, err := d.c.cmd("EHLO " + d.ehloName())
	d.timed(PhaseEHLO, start)
	if err := wantCode(rep, err, 250); err != nil {
		return fail(PhaseEHLO, err)
	}
	d.caps = parseEHLO(rep)
	auth := d.caps.offersAuth()
	// The EHLO that counts is the one after TLS, where TLS is used: a
	// plaintext EHLO's AUTH and SIZE say nothing of what clients get.
	if d.c.tls || d.transport == config.Plain {
		d.res.AuthAdvertised = boolPtr(auth)
		d.res.SizeLimit = nil
		if n, ok := d.caps.size(); ok {
			d.res.SizeLimit = &n
		}
		if f := d.expectEHLO(rep); f != nil {
			return f
		}
	}
	if d.c.tls {
		return nil
	}
	d.res.StartTLSAdvertised = boolPtr(d.caps.has("STARTTLS"))
	if d.transport == config.StartTLS {
		d.res.AuthBeforeTLS = boolPtr(auth)
		if auth && d.mod.SMTP.FailIfAuthBeforeTLS {
			return failWith(PhaseEHLO, ReasonAuthBeforeTLS, 0, errors.New("AUTH offered before TLS"))
		}
	}
	return nil
}

func (d *dialogue) startTLS(context.Context) *Failure {
	if !d.caps.has("STARTTLS") {
		return failWith(PhaseStartTLS, ReasonStartTLSUnsupported, 0, errors.New("STARTTLS not advertised in EHLO"))
	}
	start := d.begin(PhaseStartTLS)
	rep, err := d.c.cmd("STARTTLS")
	d.timed(PhaseStartTLS, start)
	if err := wantCode(rep, err, 220); err != nil {
		return fail(PhaseStartTLS, err)
	}
	// Bytes after the 220 would be read as if they came over TLS (CVE-2011-0411 style injection).
	if n := d.c.r.Buffered(); n > 0 {
		return failWith(PhaseStartTLS, ReasonBadReply, 0, &protocolError{fmt.Sprintf("%d bytes sent after the STARTTLS reply", n)})
	}
	return nil
}

// handshake runs TLS without letting crypto/tls judge the certificate, then
// verifies it ourselves so that a bad certificate is still measured.
func (d *dialogue) handshake(ctx context.Context) *Failure {
	shared, err := d.mod.ClientTLS()
	if err != nil {
		return failWith(PhaseTLS, ReasonTLSHandshake, 0, err)
	}
	cfg := shared.Clone()
	serverName := d.serverName()
	roots := cfg.RootCAs
	cfg.InsecureSkipVerify = true
	cfg.ServerName = serverName

	start := d.begin(PhaseTLS)
	tc := tls.Client(d.c.raw, cfg)
	// Not HandshakeContext: bindDeadline already ends the connection's I/O
	// with ctx, and a second watch on ctx costs a context and a callback a
	// probe. The error is ctx's when ctx ended the handshake, as there.
	if err = tc.Handshake(); err != nil {
		if ctxErr := expired(ctx); ctxErr != nil {
			err = ctxErr
		}
	}
	d.timed(PhaseTLS, start)
	if err != nil {
		return fail(PhaseTLS, err)
	}
	d.c.upgrade(tc)
	info, verr := inspectTLS(tc.ConnectionState(), roots, serverName, time.Now())
	d.res.TLS = info
	if verr != nil {
		d.logger.Debug("certificate does not verify", "server_name", serverName, "err", verr)
		switch {
		case d.mod.TLSConfig.InsecureSkipVerify:
		case d.mod.DANE && net.ParseIP(d.target.Host) == nil:
			d.certErr = verr
		case !d.certificateRequired():
			d.logger.Debug("opportunistic TLS: a certificate that does not verify is reported, not failed")
		default:
			return failWith(PhaseTLS, classifyCert(verr), 0, verr)
		}
	}
	return nil
}

// serverName is the name the certificate must show: tls_config.server_name, or the target's host.
func (d *dialogue) serverName() string {
	if n := d.mod.TLSConfig.ServerName; n != "" {
		return n
	}
	return d.target.Host
}

// certificateRequired: port 25 is opportunistic TLS (RFC 7435). Senders
// deliver over a certificate that does not verify unless DANE or an MTA-STS
// enforce policy says otherwise, and those steps check it themselves; so on
// port 25, and with tls_verification: opportunistic, a bad certificate is
// reported without failing. tls_verification: strict always fails it.
func (d *dialogue) certificateRequired() bool {
	switch d.mod.TLSVerification {
	case config.TLSStrict:
		return true
	case config.TLSOpportunistic:
		return false
	}
	return d.target.Port != 25
}

// checkAuthEnforced is the RFC 6409 check: without AUTH, MAIL then RCPT to a
// foreign domain must be refused. It never sends DATA.
func (d *dialogue) checkAuthEnforced(context.Context) *Failure {
	if !d.mod.SMTP.CheckAuthEnforced {
		return nil
	}
	start := d.begin(PhaseMail)
	defer func() { d.timed(PhaseMail, start) }()

	rep, err := d.c.cmd("MAIL FROM:<" + d.mod.SMTP.MailFrom + ">")
	if err != nil {
		return fail(PhaseMail, err)
	}
	f := d.enforcedBy(rep)
	if f == nil && d.res.AuthEnforced == nil { // MAIL accepted: RCPT decides
		if rep, err = d.c.cmd("RCPT TO:<" + d.mod.SMTP.RcptTo + ">"); err != nil {
			return fail(PhaseMail, err)
		}
		f = d.enforcedBy(rep)
		if f == nil && d.res.AuthEnforced == nil {
			d.res.AuthEnforced = boolPtr(false)
			f = failWith(PhaseMail, ReasonAuthNotEnforced, rep.code, errors.New("MAIL and RCPT to a foreign domain accepted without AUTH"))
		}
	}
	// RSET leaves no transaction behind, whatever the server answered, before AUTH or QUIT.
	rep, err = d.c.cmd("RSET")
	if err := wantCode(rep, err, 250); err != nil && f == nil {
		return fail(PhaseMail, err)
	}
	return f
}

// enforcedBy reads one reply of the check. A refusal about authentication
// or relaying proves enforcement; any other 5xx (a sender domain that does
// not resolve, a syntax error) proves nothing either way, nor does a 4xx.
func (d *dialogue) enforcedBy(rep reply) *Failure {
	switch {
	case rep.code/100 == 5 && refusesUnauthenticated(rep):
		d.res.AuthEnforced = boolPtr(true)
	case rep.code/100 == 5:
		return failWith(PhaseMail, ReasonAuthCheckInconclusive, rep.code, newCodeError(rep))
	case rep.code/100 == 4:
		return fail(PhaseMail, newCodeError(rep))
	}
	return nil
}

// relayOrAuth matches the texts real servers refuse unauthenticated mail
// with when they give no enhanced status code (Exim: "550 relay not
// permitted"), besides the "authentication required" family.
var relayOrAuth = regexp.MustCompile(`(?i)\brelay|authenticat|\bauth(entication)? required|not logged in`)

// refusesUnauthenticated reports whether a 5xx refuses mail for want of
// authentication: 530 (RFC 4954), an enhanced code 5.7.x (security or
// policy: Postfix 554 5.7.1 Relay access denied, Sendmail 550 5.7.1
// Relaying denied, Dovecot 530 5.7.0), or a relay/authentication text.
func refusesUnauthenticated(rep reply) bool {
	if rep.code == 530 {
		return true
	}
	for _, line := range rep.lines {
		if strings.HasPrefix(line, "5.7.") || relayOrAuth.MatchString(line) {
			return true
		}
	}
	return false
}

func (d *dialogue) quit(context.Context) *Failure {
	start := d.begin(PhaseQuit)
	rep, err := d.c.cmd("QUIT")
	d.timed(PhaseQuit, start)
	if err := wantCode(rep, err, 221); err != nil {
		return fail(PhaseQuit, err)
	}
	return nil
}

package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// dialogue is one probe's conversation with one server: each step is a
// method that records its timing and observations in res and returns a
// Failure to stop the dialogue.
type dialogue struct {
	ctx    context.Context
	target Target
	mod    config.Module
	logger *slog.Logger
	res    *Result

	c            *conn
	stopDeadline func() bool
	caps         capabilities // from the latest EHLO
	// certErr is a certificate verdict held back for the DANE step: a
	// validated TLSA match authenticates a certificate PKIX does not (RFC 7672).
	certErr error
}

type step func() *Failure

func newDialogue(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *dialogue {
	return &dialogue{ctx: ctx, target: t, mod: m, logger: logger, res: &Result{}}
}

// run connects, runs the steps in order until one fails, and always closes.
func (d *dialogue) run(steps ...step) *Result {
	defer d.close()
	for _, s := range append([]step{func() *Failure { return d.connect(d.ctx) }}, steps...) {
		if f := s(); f != nil {
			d.res.Failure = f
			// Info, not debug: a transcript whose budget the server's lines used up still keeps it.
			d.logger.Info("probe step failed", "phase", f.Phase, "reason", f.Reason, "code", f.Code, "err", f.Err)
			d.politeQuit(f)
			break
		}
	}
	return d.res
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

// politeQuit says QUIT after a failure the server answered cleanly (and only
// once it has greeted: talking first trips pregreet tests). It does not wait
// for the reply, so it never costs the probe time.
func (d *dialogue) politeQuit(f *Failure) {
	if d.c == nil || d.res.GreetingCode == 0 || f.Phase == PhaseQuit {
		return
	}
	switch f.Reason {
	case ReasonUnexpectedCode, ReasonStartTLSUnsupported, ReasonAuthUnsupported, ReasonAuthFailed,
		ReasonAuthNotEnforced, ReasonAuthBeforeTLS, ReasonCertExpired, ReasonCertUntrusted, ReasonCertHostname, ReasonDANEMismatch:
		d.logger.Debug("C: QUIT")
		_, _ = d.c.raw.Write([]byte("QUIT\r\n"))
	}
}

// wantCode turns a reply with another code than want into a codeError.
func wantCode(rep reply, err error, want int) error {
	if err == nil && rep.code != want {
		return newCodeError(rep)
	}
	return err
}

func (d *dialogue) greeting() *Failure {
	start := time.Now()
	rep, err := d.c.readReply()
	d.timed(PhaseGreeting, start)
	if err != nil {
		return fail(PhaseGreeting, err)
	}
	d.res.GreetingCode = rep.code
	if err := wantCode(rep, nil, d.mod.SMTP.ExpectGreetingCode); err != nil {
		return fail(PhaseGreeting, err)
	}
	return nil
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
func (d *dialogue) ehlo() *Failure {
	start := time.Now()
	rep, err := d.c.cmd("EHLO " + d.ehloName())
	d.timed(PhaseEHLO, start)
	if err := wantCode(rep, err, 250); err != nil {
		return fail(PhaseEHLO, err)
	}
	d.caps = parseEHLO(rep)
	auth := d.caps.has("AUTH")
	// The EHLO that counts is the one after TLS, where TLS is used: a
	// plaintext EHLO's AUTH and SIZE say nothing of what clients get.
	if d.c.tls || d.mod.Prober == "tcp" {
		d.res.AuthAdvertised = boolPtr(auth)
		d.res.SizeLimit = nil
		if n, ok := d.caps.size(); ok {
			d.res.SizeLimit = &n
		}
	}
	if d.c.tls {
		return nil
	}
	d.res.StartTLSAdvertised = boolPtr(d.caps.has("STARTTLS"))
	if d.mod.Prober == "starttls" {
		d.res.AuthBeforeTLS = boolPtr(auth)
		if auth && d.mod.SMTP.FailIfAuthBeforeTLS {
			return failWith(PhaseEHLO, ReasonAuthBeforeTLS, 0, errors.New("AUTH offered before TLS"))
		}
	}
	return nil
}

func (d *dialogue) startTLS() *Failure {
	if !d.caps.has("STARTTLS") {
		return failWith(PhaseStartTLS, ReasonStartTLSUnsupported, 0, errors.New("STARTTLS not advertised in EHLO"))
	}
	start := time.Now()
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
func (d *dialogue) handshake() *Failure {
	shared, err := d.mod.ClientTLS()
	if err != nil {
		return failWith(PhaseTLS, ReasonTLSHandshake, 0, err)
	}
	cfg := shared.Clone()
	serverName := d.mod.TLSConfig.ServerName
	if serverName == "" {
		serverName = d.target.Host
	}
	roots := cfg.RootCAs
	cfg.InsecureSkipVerify = true
	cfg.ServerName = serverName

	start := time.Now()
	tc := tls.Client(d.c.raw, cfg)
	err = tc.HandshakeContext(d.ctx)
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
		default:
			return failWith(PhaseTLS, classifyCert(verr), 0, verr)
		}
	}
	return nil
}

// checkAuthEnforced is the RFC 6409 check: without AUTH, MAIL then RCPT to a
// foreign domain must be refused. It never sends DATA.
func (d *dialogue) checkAuthEnforced() *Failure {
	if !d.mod.SMTP.CheckAuthEnforced {
		return nil
	}
	start := time.Now()
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

// enforcedBy reads one reply of the check: 5xx proves enforcement, 4xx proves nothing.
func (d *dialogue) enforcedBy(rep reply) *Failure {
	switch rep.code / 100 {
	case 5:
		d.res.AuthEnforced = boolPtr(true)
	case 4:
		return fail(PhaseMail, newCodeError(rep))
	}
	return nil
}

func (d *dialogue) quit() *Failure {
	start := time.Now()
	rep, err := d.c.cmd("QUIT")
	d.timed(PhaseQuit, start)
	if err := wantCode(rep, err, 221); err != nil {
		return fail(PhaseQuit, err)
	}
	return nil
}

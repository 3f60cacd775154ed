package prober

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// TestEveryKindProbes runs each kind of config.Kinds once against
// loopback, where nothing listens and the DNS resolver refuses: every kind
// must reach its own dialogue or lookup, never the unknown-kind fallback.
func TestEveryKindProbes(t *testing.T) {
	for _, k := range config.Kinds {
		m := module(k.Name, "", time.Second)
		m.DNSResolver = "127.0.0.1:1"
		target := Target{Host: "127.0.0.1", Port: 1}
		switch k.Shape {
		case config.Host:
			target.Port = 0
			m.Submission.Ports = []config.SubmissionPort{{Port: 1, Prober: "starttls"}, {Port: 2, Prober: "tls"}}
		case config.Domain:
			target = Target{Host: "example.test"}
		}
		res := Probe(context.Background(), target, m, testLogger(t))
		if res.Success() || res.Failure == nil && len(res.Dialogues()) == 0 {
			t.Errorf("%s: %+v, want a failed probe", k.Name, res)
		}
		for _, d := range append(res.Dialogues(), res) {
			if d.Failure != nil && d.Failure.Reason == ReasonInternal {
				t.Errorf("%s: %v", k.Name, d.Failure)
			}
		}
	}
}

// pki is the certificates the table tests use; the probe dials 127.0.0.1,
// so a good certificate names that address.
type pki struct {
	caFile   string
	good     tls.Certificate
	expired  tls.Certificate
	wrong    tls.Certificate
	selfSign tls.Certificate
}

func newPKI(t *testing.T) pki {
	ca := smtptest.NewCA(t)
	now := time.Now()
	return pki{
		caFile:   ca.PEMFile(t),
		good:     ca.Issue(t, []string{"127.0.0.1", "mail.test"}, now.Add(-time.Hour), now.Add(90*24*time.Hour)),
		expired:  ca.Issue(t, []string{"127.0.0.1"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour)),
		wrong:    ca.Issue(t, []string{"other.test"}, now.Add(-time.Hour), now.Add(24*time.Hour)),
		selfSign: smtptest.SelfSigned(t, []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(24*time.Hour)),
	}
}

func module(proberName, caFile string, timeout time.Duration) config.Module {
	m := config.DefaultModule
	m.Prober = proberName
	m.Timeout = model.Duration(timeout)
	m.SMTP.EHLO = "probe.test"
	m.TLSConfig.CAFile = caFile
	return m
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// probe runs one probe and checks it ended inside its deadline (with slack for a loaded machine).
func probe(t *testing.T, fn ProbeFn, port int, m config.Module) *Result {
	t.Helper()
	timeout := time.Duration(m.Timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	res := fn(ctx, Target{Host: "127.0.0.1", Port: port}, m, testLogger(t))
	if took := time.Since(start); took > timeout+time.Second {
		t.Errorf("probe took %s, deadline was %s", took, timeout)
	}
	return res
}

func wantFailure(t *testing.T, res *Result, phase Phase, reason Reason, code int) {
	t.Helper()
	if res.Failure == nil {
		t.Fatalf("probe succeeded, want failure %s/%s", phase, reason)
	}
	f := res.Failure
	if f.Phase != phase || f.Reason != reason || f.Code != code {
		t.Fatalf("failure = %s/%s code %d (%v), want %s/%s code %d", f.Phase, f.Reason, f.Code, f.Err, phase, reason, code)
	}
	if res.Success() {
		t.Fatal("Success() is true with a failure")
	}
}

func wantSuccess(t *testing.T, res *Result) {
	t.Helper()
	if res.Failure != nil {
		t.Fatalf("probe failed: %v", res.Failure)
	}
}

func wantPhases(t *testing.T, res *Result, phases ...Phase) {
	t.Helper()
	var got []Phase
	for _, tm := range res.Timings {
		if !slices.Contains(got, tm.Phase) {
			got = append(got, tm.Phase)
		}
	}
	if !slices.Equal(got, phases) {
		t.Errorf("phases = %v, want %v", got, phases)
	}
}

func noViolations(t *testing.T, s *smtptest.Server) {
	t.Helper()
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("the prober broke the protocol: %v", v)
	}
}

func TestStartTLSSuccess(t *testing.T) {
	p := newPKI(t)
	// STARTTLS as the last EHLO line, "250 STARTTLS", trips regex probers.
	srv := smtptest.NewServer(t, smtptest.Options{
		Greeting:   []string{"220-mail.test ESMTP", "220-welcome to the test", "220 ready"},
		Cert:       &p.good,
		Extensions: []string{"PIPELINING", "SIZE 35882577", "STARTTLS"},
	})
	res := probe(t, Probe, srv.Port, module("starttls", p.caFile, 5*time.Second))
	wantSuccess(t, res)
	noViolations(t, srv)
	wantPhases(t, res, PhaseResolve, PhaseConnect, PhaseGreeting, PhaseEHLO, PhaseStartTLS, PhaseTLS, PhaseQuit)
	if res.GreetingCode != 220 || !res.Reachable || res.IPProtocol != 4 {
		t.Errorf("greeting %d reachable %v ip %d", res.GreetingCode, res.Reachable, res.IPProtocol)
	}
	if !*res.StartTLSAdvertised || *res.AuthBeforeTLS || *res.AuthAdvertised {
		t.Errorf("starttls %v auth before tls %v auth %v", *res.StartTLSAdvertised, *res.AuthBeforeTLS, *res.AuthAdvertised)
	}
	if res.SizeLimit == nil || *res.SizeLimit != 10240000 {
		t.Errorf("size limit = %v, want the after-TLS EHLO's 10240000", res.SizeLimit)
	}
	tlsInfo := res.TLS
	if tlsInfo == nil || !tlsInfo.Verified || tlsInfo.Version != "TLS 1.3" || tlsInfo.Cipher == "" {
		t.Fatalf("tls = %+v", tlsInfo)
	}
	if !tlsInfo.EarliestExpiry.Equal(p.good.Leaf.NotAfter) || !tlsInfo.ChainExpiry.Equal(p.good.Leaf.NotAfter) {
		t.Errorf("expiry %s / chain %s, want %s", tlsInfo.EarliestExpiry, tlsInfo.ChainExpiry, p.good.Leaf.NotAfter)
	}
	if len(tlsInfo.Leaf.FingerprintSHA256) != 64 || tlsInfo.Leaf.SubjectAlt != "mail.test,127.0.0.1" {
		t.Errorf("leaf = %+v", tlsInfo.Leaf)
	}
	cmds := srv.Commands()
	want := []string{"EHLO probe.test", "STARTTLS", "EHLO probe.test", "QUIT"}
	if !slices.Equal(cmds, want) {
		t.Errorf("commands = %q, want %q", cmds, want)
	}
}

func TestTCPAndTLSSuccess(t *testing.T) {
	p := newPKI(t)
	t.Run("tcp", func(t *testing.T) {
		srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good})
		res := probe(t, Probe, srv.Port, module("tcp", "", 5*time.Second))
		wantSuccess(t, res)
		noViolations(t, srv)
		wantPhases(t, res, PhaseResolve, PhaseConnect, PhaseGreeting, PhaseEHLO, PhaseQuit)
		if res.StartTLSAdvertised == nil || !*res.StartTLSAdvertised || res.TLS != nil || res.AuthBeforeTLS != nil {
			t.Errorf("tcp result = %+v", res)
		}
	})
	t.Run("implicit tls", func(t *testing.T) {
		srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, ImplicitTLS: true, Users: map[string]string{"u": "p"}})
		res := probe(t, Probe, srv.Port, module("tls", p.caFile, 5*time.Second))
		wantSuccess(t, res)
		noViolations(t, srv)
		wantPhases(t, res, PhaseResolve, PhaseConnect, PhaseTLS, PhaseGreeting, PhaseEHLO, PhaseQuit)
		if res.TLS == nil || !res.TLS.Verified || !*res.AuthAdvertised || res.StartTLSAdvertised != nil {
			t.Errorf("tls result = %+v", res)
		}
	})
}

// TestFailures is one row per failure reason and per known pitfall.
func TestFailures(t *testing.T) {
	p := newPKI(t)
	quick := 700 * time.Millisecond
	tests := []struct {
		name    string
		prober  string
		opts    *smtptest.Options
		handler func(*smtptest.Conn)
		timeout time.Duration
		tweak   func(*config.Module)
		phase   Phase
		reason  Reason
		code    int
		// talksFirst: the prober rightly speaks before a greeting (TLS ClientHello on a plaintext server).
		talksFirst bool
	}{
		{name: "server never greets", prober: "tcp", timeout: quick,
			handler: func(c *smtptest.Conn) { _, _ = io.Copy(io.Discard, c) },
			phase:   PhaseGreeting, reason: ReasonTimeout},
		{name: "greeting drip-fed past the deadline", prober: "tcp", timeout: quick,
			handler: func(c *smtptest.Conn) {
				for i := 0; i < 100; i++ {
					if _, err := c.Write([]byte("2")); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			},
			phase: PhaseGreeting, reason: ReasonTimeout},
		{name: "1 MB of garbage without a newline", prober: "tcp",
			handler: func(c *smtptest.Conn) { c.Send(strings.Repeat("x", 1<<20)) },
			phase:   PhaseGreeting, reason: ReasonBadReply},
		{name: "garbage lines", prober: "tcp",
			handler: func(c *smtptest.Conn) { c.SendLines("HTTP/1.1 400 Bad Request", "") },
			phase:   PhaseGreeting, reason: ReasonBadReply},
		{name: "endless multi-line greeting", prober: "tcp",
			handler: func(c *smtptest.Conn) {
				for i := 0; i < 10000; i++ {
					c.SendLines("220-still greeting")
				}
			},
			phase: PhaseGreeting, reason: ReasonBadReply},
		{name: "421 greeting", prober: "starttls", opts: &smtptest.Options{Greeting: []string{"421 4.3.2 Service not available"}},
			phase: PhaseGreeting, reason: ReasonUnexpectedCode, code: 421},
		{name: "554 greeting", prober: "starttls", opts: &smtptest.Options{Greeting: []string{"554 5.7.1 No SMTP service here"}},
			phase: PhaseGreeting, reason: ReasonUnexpectedCode, code: 554},
		{name: "EHLO refused", prober: "tcp", opts: &smtptest.Options{Replies: map[string]string{"EHLO": "502 5.5.2 Error: command not recognized"}},
			phase: PhaseEHLO, reason: ReasonUnexpectedCode, code: 502},
		{name: "close after greeting", prober: "tcp",
			handler: func(c *smtptest.Conn) { c.SendLines("220 bye"); _, _ = c.ReadLine() },
			phase:   PhaseEHLO, reason: ReasonReset},
		{name: "STARTTLS not advertised", prober: "starttls", opts: &smtptest.Options{},
			phase: PhaseStartTLS, reason: ReasonStartTLSUnsupported},
		{name: "454 to STARTTLS", prober: "starttls", opts: &smtptest.Options{Cert: &p.good, Replies: map[string]string{"STARTTLS": "454 4.7.0 TLS not available due to local problem"}},
			phase: PhaseStartTLS, reason: ReasonUnexpectedCode, code: 454},
		{name: "close right after 220 Ready to start TLS", prober: "starttls", opts: &smtptest.Options{Cert: &p.good, CloseAfterStartTLS: true},
			phase: PhaseTLS, reason: ReasonReset},
		{name: "plaintext injected after STARTTLS reply", prober: "starttls", opts: &smtptest.Options{Cert: &p.good, Replies: map[string]string{"STARTTLS": "220 go ahead\n250 injected"}},
			phase: PhaseStartTLS, reason: ReasonBadReply},
		{name: "expired certificate", prober: "starttls", opts: &smtptest.Options{Cert: &p.expired},
			phase: PhaseTLS, reason: ReasonCertExpired},
		{name: "wrong-host certificate", prober: "starttls", opts: &smtptest.Options{Cert: &p.wrong},
			phase: PhaseTLS, reason: ReasonCertHostname},
		{name: "self-signed certificate", prober: "tls", opts: &smtptest.Options{Cert: &p.selfSign, ImplicitTLS: true},
			phase: PhaseTLS, reason: ReasonCertUntrusted},
		{name: "plaintext SMTP on an implicit-TLS port", prober: "tls", opts: &smtptest.Options{},
			phase: PhaseTLS, reason: ReasonTLSHandshake, talksFirst: true},
		{name: "TLS version mismatch", prober: "tls", opts: &smtptest.Options{Cert: &p.good, ImplicitTLS: true},
			tweak: func(m *config.Module) { m.TLSConfig.MaxVersion = tls.VersionTLS11 },
			phase: PhaseTLS, reason: ReasonTLSHandshake},
		{name: "AUTH offered before TLS with fail_if_auth_before_tls", prober: "starttls",
			opts:  &smtptest.Options{Cert: &p.good, Extensions: []string{"AUTH PLAIN LOGIN", "STARTTLS"}},
			tweak: func(m *config.Module) { m.SMTP.FailIfAuthBeforeTLS = true },
			phase: PhaseEHLO, reason: ReasonAuthBeforeTLS},
		{name: "QUIT refused", prober: "tcp", opts: &smtptest.Options{Replies: map[string]string{"QUIT": "500 no"}},
			phase: PhaseQuit, reason: ReasonUnexpectedCode, code: 500},
		{name: "greeting code other than expected", prober: "tcp", opts: &smtptest.Options{},
			tweak: func(m *config.Module) { m.SMTP.ExpectGreetingCode = 221 },
			phase: PhaseGreeting, reason: ReasonUnexpectedCode, code: 220},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var srv *smtptest.Server
			if tc.handler != nil {
				srv = smtptest.NewHandlerServer(t, tc.handler)
			} else {
				srv = smtptest.NewServer(t, *tc.opts)
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			m := module(tc.prober, p.caFile, timeout)
			if tc.tweak != nil {
				tc.tweak(&m)
			}
			res := probe(t, Probe, srv.Port, m)
			wantFailure(t, res, tc.phase, tc.reason, tc.code)
			if !tc.talksFirst {
				noViolations(t, srv)
			}
		})
	}
}

func TestCertificateFailuresStillMeasure(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.expired})
	res := probe(t, Probe, srv.Port, module("starttls", p.caFile, 5*time.Second))
	wantFailure(t, res, PhaseTLS, ReasonCertExpired, 0)
	if res.TLS == nil || res.TLS.Verified || !res.TLS.EarliestExpiry.Equal(p.expired.Leaf.NotAfter) || !res.TLS.ChainExpiry.IsZero() {
		t.Fatalf("tls = %+v", res.TLS)
	}
	if res.TLS.Version == "" || res.TLS.Leaf.FingerprintSHA256 == "" {
		t.Errorf("version/leaf missing: %+v", res.TLS)
	}

	// insecure_skip_verify turns the failure off, not the measurement.
	srv = smtptest.NewServer(t, smtptest.Options{Cert: &p.selfSign})
	m := module("starttls", p.caFile, 5*time.Second)
	m.TLSConfig.InsecureSkipVerify = true
	res = probe(t, Probe, srv.Port, m)
	wantSuccess(t, res)
	if res.TLS == nil || res.TLS.Verified || res.TLS.EarliestExpiry.IsZero() {
		t.Errorf("tls = %+v", res.TLS)
	}
}

func TestServerNameDefaultsToTargetAndCanBeSet(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.wrong})
	m := module("starttls", p.caFile, 5*time.Second)
	m.TLSConfig.ServerName = "other.test"
	wantSuccess(t, probe(t, Probe, srv.Port, m))
}

// TestAuthAdvertisedOnlyFromTheEHLOThatCounts: when TLS fails, the plaintext
// EHLO's AUTH and SIZE must not be reported as what clients get.
func TestAuthAdvertisedOnlyFromTheEHLOThatCounts(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.selfSign, Extensions: []string{"STARTTLS", "SIZE 1000", "AUTH PLAIN"}})
	res := probe(t, Probe, srv.Port, module("starttls", p.caFile, 5*time.Second))
	wantFailure(t, res, PhaseTLS, ReasonCertUntrusted, 0)
	if res.AuthAdvertised != nil || res.SizeLimit != nil {
		t.Errorf("auth advertised %v, size %v: want neither before the EHLO after TLS", res.AuthAdvertised, res.SizeLimit)
	}
	if res.AuthBeforeTLS == nil || !*res.AuthBeforeTLS {
		t.Errorf("auth before tls = %v, want true", res.AuthBeforeTLS)
	}
}

func TestAuthBeforeTLSReportedWithoutFailing(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, Extensions: []string{"STARTTLS", "AUTH=LOGIN", "AUTH PLAIN LOGIN"}})
	res := probe(t, Probe, srv.Port, module("starttls", p.caFile, 5*time.Second))
	wantSuccess(t, res)
	if !*res.AuthBeforeTLS || *res.AuthAdvertised {
		t.Errorf("auth before tls %v, auth after tls %v", *res.AuthBeforeTLS, *res.AuthAdvertised)
	}
}

// TestBareAuthKeywordIsNoMechanism: Dovecot's submission service says
// "250-AUTH" with no mechanism before TLS (disable_plaintext_auth). Nothing
// can log in there, so it is neither AUTH before TLS nor AUTH advertised.
func TestBareAuthKeywordIsNoMechanism(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good,
		Extensions: []string{"AUTH", "STARTTLS"}, ExtensionsAfterTLS: []string{"AUTH PLAIN LOGIN"}})
	m := module("starttls", p.caFile, 5*time.Second)
	m.SMTP.FailIfAuthBeforeTLS = true
	res := probe(t, Probe, srv.Port, m)
	wantSuccess(t, res)
	if *res.AuthBeforeTLS || !*res.AuthAdvertised {
		t.Errorf("auth before tls %v, auth after tls %v: want false, true", *res.AuthBeforeTLS, *res.AuthAdvertised)
	}
	res = probe(t, Probe, srv.Port, module("tcp", "", 5*time.Second))
	wantSuccess(t, res)
	if *res.AuthAdvertised {
		t.Error("tcp prober: a bare AUTH keyword reported as AUTH advertised")
	}
}

func TestRefusedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	res := probe(t, Probe, port, module("starttls", "", 5*time.Second))
	wantFailure(t, res, PhaseConnect, ReasonRefused, 0)
	if res.Reachable || res.GreetingCode != 0 {
		t.Errorf("reachable %v greeting %d", res.Reachable, res.GreetingCode)
	}
}

func TestAuth(t *testing.T) {
	p := newPKI(t)
	users := map[string]string{"probe@example.com": "correct horse"}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		mechanism string
		password  string
		opts      smtptest.Options
		reason    Reason
		code      int
	}{
		{name: "strongest advertised (CRAM-MD5)", password: "correct horse"},
		{name: "PLAIN", mechanism: "PLAIN", password: "correct horse"},
		{name: "LOGIN", mechanism: "LOGIN", password: "correct horse"},
		{name: "password from file", mechanism: "PLAIN"},
		{name: "wrong password", mechanism: "PLAIN", password: "wrong", reason: ReasonAuthFailed, code: 535},
		{name: "wrong password CRAM-MD5", password: "wrong", reason: ReasonAuthFailed, code: 535},
		{name: "AUTH not advertised after TLS", password: "x", opts: smtptest.Options{ExtensionsAfterTLS: []string{"SIZE 1"}}, reason: ReasonAuthUnsupported},
		{name: "mechanism not offered", mechanism: "CRAM-MD5", password: "x", opts: smtptest.Options{ExtensionsAfterTLS: []string{"AUTH PLAIN"}}, reason: ReasonAuthUnsupported},
		{name: "temporary failure", mechanism: "PLAIN", password: "x", opts: smtptest.Options{Replies: map[string]string{"AUTH": "454 4.7.0 Temporary authentication failure"}}, reason: ReasonUnexpectedCode, code: 454},
		{name: "mechanism refused at once", mechanism: "LOGIN", password: "x", opts: smtptest.Options{Replies: map[string]string{"AUTH": "504 5.5.4 Unrecognized authentication type"}}, reason: ReasonAuthUnsupported, code: 504},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, proberName := range []string{"starttls", "tls"} {
				opts := tc.opts
				opts.Cert, opts.Users, opts.ImplicitTLS = &p.good, users, proberName == "tls"
				srv := smtptest.NewServer(t, opts)
				m := module(proberName, p.caFile, 5*time.Second)
				m.SMTP.Auth = &config.Auth{Username: "probe@example.com", Password: "", Mechanism: tc.mechanism}
				if tc.password == "" {
					m.SMTP.Auth.PasswordFile = pwFile
				} else {
					m.SMTP.Auth.Password = promconfig.Secret(tc.password)
				}
				res := probe(t, Probe, srv.Port, m)
				noViolations(t, srv)
				if tc.reason == "" {
					wantSuccess(t, res)
					wantPhases(t, res, append(phasesFor(proberName), PhaseAuth, PhaseQuit)...)
					if res.AuthSuccess == nil || !*res.AuthSuccess {
						t.Errorf("auth success = %v", res.AuthSuccess)
					}
				} else {
					wantFailure(t, res, PhaseAuth, tc.reason, tc.code)
					if res.AuthSuccess == nil || *res.AuthSuccess {
						t.Errorf("auth success = %v, want false", res.AuthSuccess)
					}
				}
				for _, c := range srv.Commands() {
					if strings.Contains(c, "correct horse") || strings.Contains(c, "DATA") {
						t.Errorf("command %q carries the password in clear or sends DATA", c)
					}
				}
			}
		})
	}
}

func phasesFor(proberName string) []Phase {
	if proberName == "tls" {
		return []Phase{PhaseResolve, PhaseConnect, PhaseTLS, PhaseGreeting, PhaseEHLO}
	}
	return []Phase{PhaseResolve, PhaseConnect, PhaseGreeting, PhaseEHLO, PhaseStartTLS, PhaseTLS}
}

func TestCheckAuthEnforced(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name     string
		opts     smtptest.Options
		enforced *bool
		reason   Reason
		code     int
	}{
		{name: "530 at MAIL", opts: smtptest.Options{Users: map[string]string{"u": "p"}}, enforced: boolPtr(true)},
		{name: "MAIL accepted, 554 at RCPT (Postfix style)", opts: smtptest.Options{}, enforced: boolPtr(true)},
		{name: "open relay", opts: smtptest.Options{OpenRelay: true}, enforced: boolPtr(false), reason: ReasonAuthNotEnforced, code: 250},
		{name: "4xx at MAIL proves nothing", opts: smtptest.Options{Replies: map[string]string{"MAIL": "451 4.3.0 try later"}}, reason: ReasonUnexpectedCode, code: 451},
		{name: "4xx at RCPT proves nothing", opts: smtptest.Options{Replies: map[string]string{"RCPT": "450 4.1.2 domain not found"}}, reason: ReasonUnexpectedCode, code: 450},
		// The real servers' refusals (issue 12), each at the step it comes at.
		{name: "Postfix before TLS", opts: smtptest.Options{Replies: map[string]string{"MAIL": "530 5.7.0 Must issue a STARTTLS command first"}}, enforced: boolPtr(true)},
		{name: "Postfix relay", opts: smtptest.Options{OpenRelay: true, Replies: map[string]string{"RCPT": "554 5.7.1 <probe@example.invalid>: Relay access denied"}}, enforced: boolPtr(true)},
		{name: "Exim relay, no enhanced code", opts: smtptest.Options{OpenRelay: true, Replies: map[string]string{"RCPT": "550 relay not permitted"}}, enforced: boolPtr(true)},
		{name: "Sendmail relay", opts: smtptest.Options{OpenRelay: true, Replies: map[string]string{"RCPT": "550 5.7.1 <probe@example.invalid>... Relaying denied"}}, enforced: boolPtr(true)},
		{name: "Dovecot submission", opts: smtptest.Options{Replies: map[string]string{"MAIL": "530 5.7.0 Authentication required."}}, enforced: boolPtr(true)},
		{name: "bad sender domain is inconclusive", opts: smtptest.Options{OpenRelay: true, Replies: map[string]string{"MAIL": "550 5.1.8 <probe@example.com>: Sender address rejected: Domain not found"}}, reason: ReasonAuthCheckInconclusive, code: 550},
		{name: "syntax error is inconclusive", opts: smtptest.Options{OpenRelay: true, Replies: map[string]string{"RCPT": "501 5.1.3 Bad recipient address syntax"}}, reason: ReasonAuthCheckInconclusive, code: 501},
		{name: "unknown user is inconclusive", opts: smtptest.Options{OpenRelay: true, Replies: map[string]string{"RCPT": "550 5.1.1 <probe@example.invalid>: Recipient address rejected: User unknown"}}, reason: ReasonAuthCheckInconclusive, code: 550},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Cert = &p.good
			srv := smtptest.NewServer(t, opts)
			m := module("starttls", p.caFile, 5*time.Second)
			m.SMTP.CheckAuthEnforced = true
			res := probe(t, Probe, srv.Port, m)
			noViolations(t, srv)
			if tc.reason == "" {
				wantSuccess(t, res)
			} else {
				wantFailure(t, res, PhaseMail, tc.reason, tc.code)
			}
			if (res.AuthEnforced == nil) != (tc.enforced == nil) || (res.AuthEnforced != nil && *res.AuthEnforced != *tc.enforced) {
				t.Errorf("auth enforced = %v, want %v", res.AuthEnforced, tc.enforced)
			}
			if _, ok := res.Duration(PhaseMail); !ok {
				t.Error("no mail phase timing")
			}
			if slices.Contains(srv.Commands(), "DATA") {
				t.Error("the check sent DATA")
			}
		})
	}
}

func TestCheckRunsBeforeAuthWithRSET(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, Users: map[string]string{"u": "pw"}})
	m := module("starttls", p.caFile, 5*time.Second)
	m.SMTP.CheckAuthEnforced = true
	m.SMTP.Auth = &config.Auth{Username: "u", Password: "pw", Mechanism: "PLAIN"}
	res := probe(t, Probe, srv.Port, m)
	wantSuccess(t, res)
	var verbs []string
	for _, c := range srv.Commands() {
		verbs = append(verbs, strings.Fields(c)[0])
	}
	want := []string{"EHLO", "STARTTLS", "EHLO", "MAIL", "RSET", "AUTH", "QUIT"}
	if !slices.Equal(verbs, want) {
		t.Errorf("verbs = %v, want %v", verbs, want)
	}
	if !*res.AuthEnforced || !*res.AuthSuccess {
		t.Errorf("enforced %v success %v", *res.AuthEnforced, *res.AuthSuccess)
	}
}

func TestSubmissionDecisionRule(t *testing.T) {
	p := newPKI(t)
	closedPort := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	starttls := smtptest.NewServer(t, smtptest.Options{Cert: &p.good})
	implicit := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, ImplicitTLS: true})
	fallback := smtptest.NewServer(t, smtptest.Options{Cert: &p.good})
	silent := smtptest.NewHandlerServer(t, func(c *smtptest.Conn) { _, _ = io.Copy(io.Discard, c) })

	for _, tc := range []struct {
		name  string
		ports []config.SubmissionPort
		want  int
	}{
		{"all work: first", []config.SubmissionPort{sp(starttls.Port, "starttls"), sp(implicit.Port, "tls"), sp(fallback.Port, "starttls")}, starttls.Port},
		{"first silent: second", []config.SubmissionPort{sp(silent.Port, "starttls"), sp(implicit.Port, "tls"), sp(fallback.Port, "starttls")}, implicit.Port},
		{"two dead: third", []config.SubmissionPort{sp(closedPort(), "starttls"), sp(silent.Port, "tls"), sp(fallback.Port, "starttls")}, fallback.Port},
		{"none", []config.SubmissionPort{sp(closedPort(), "starttls"), sp(starttls.Port, "tls")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := module("submission", p.caFile, time.Second)
			m.Submission.Ports = tc.ports
			res := probe(t, Probe, 0, m)
			if res.SubmissionPort != tc.want || res.Success() != (tc.want != 0) {
				t.Fatalf("submission port = %d, want %d", res.SubmissionPort, tc.want)
			}
			if len(res.Ports) != len(tc.ports) {
				t.Fatalf("%d port results, want %d", len(res.Ports), len(tc.ports))
			}
			for i, pr := range res.Ports {
				if pr.Port != tc.ports[i].Port || pr.Result == nil {
					t.Errorf("port result %d = %+v", i, pr)
				}
			}
		})
	}
}

func TestIPv6Literal(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback here:", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	res := Probe(context.Background(), Target{Host: "::1", Port: port}, module("tcp", "", time.Second), testLogger(t))
	wantFailure(t, res, PhaseConnect, ReasonRefused, 0)
	if res.IPProtocol != 6 {
		t.Errorf("ip protocol = %d, want 6", res.IPProtocol)
	}
}

func TestResolvePreference(t *testing.T) {
	ctx := context.Background()
	m := module("tcp", "", time.Second)
	m.IPProtocolFallback = false
	ip, err := newResolver(m).pick(ctx, "localhost", m)
	if err != nil || !ip.Is4() {
		t.Fatalf("localhost ip4 = %v, %v", ip, err)
	}
	m.PreferredIPProtocol = "ip6"
	if ip, err := newResolver(m).pick(ctx, "127.0.0.1", m); err != nil || ip != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("an IP literal is used as it is: %v %v", ip, err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err   error
		phase Phase
		want  Reason
	}{
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, PhaseResolve, ReasonDNS},
		{&net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, PhaseResolve, ReasonTimeout},
		{context.DeadlineExceeded, PhaseConnect, ReasonTimeout},
		{io.EOF, PhaseGreeting, ReasonReset},
		{&codeError{code: 421}, PhaseGreeting, ReasonUnexpectedCode},
		{&protocolError{"x"}, PhaseEHLO, ReasonBadReply},
	} {
		if got := classify(tc.phase, tc.err); got != tc.want {
			t.Errorf("classify(%s, %v) = %s, want %s", tc.phase, tc.err, got, tc.want)
		}
	}
}

func TestParseReplyLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		code int
		last bool
		ok   bool
	}{
		{"250 OK", 250, true, true},
		{"250-PIPELINING", 250, false, true},
		{"250", 250, true, true},
		{"25", 0, false, false},
		{"abc def", 0, false, false},
		{"250xOK", 0, false, false},
		{"999 no", 0, false, false},
		{"", 0, false, false},
	} {
		code, last, _, err := parseReplyLine(tc.line)
		if (err == nil) != tc.ok || code != tc.code || last != tc.last {
			t.Errorf("parseReplyLine(%q) = %d %v %v", tc.line, code, last, err)
		}
	}
}

func TestParseEHLO(t *testing.T) {
	caps := parseEHLO(reply{code: 250, lines: []string{"mail.test Hello", "size 1000", "auth=LOGIN", "AUTH plain CRAM-MD5", "STARTTLS", "SIZE"}})
	if !caps.has("STARTTLS") || !caps.has("AUTH") || caps.has("MAIL.TEST") {
		t.Errorf("caps = %v", caps)
	}
	if !slices.Equal(caps["AUTH"], []string{"LOGIN", "PLAIN", "CRAM-MD5"}) {
		t.Errorf("auth = %v", caps["AUTH"])
	}
	if n, ok := caps.size(); !ok || n != 1000 {
		t.Errorf("size = %d %v", n, ok)
	}
}

func sp(port int, proberName string) config.SubmissionPort {
	return config.SubmissionPort{Port: port, Prober: proberName}
}

// TestOpportunisticTLS: on port 25 (and with tls_verification:
// opportunistic) a certificate that does not verify is reported, not failed,
// as senders deliver over it; strict fails it anywhere.
func TestOpportunisticTLS(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.selfSign})
	for _, tc := range []struct {
		verification string
		port         int
		wantFail     bool
	}{
		{"", srv.Port, true},
		{config.TLSOpportunistic, srv.Port, false},
		{config.TLSStrict, srv.Port, true},
	} {
		m := module("starttls", p.caFile, 5*time.Second)
		m.TLSVerification = tc.verification
		res := probe(t, Probe, tc.port, m)
		if tc.wantFail {
			wantFailure(t, res, PhaseTLS, ReasonCertUntrusted, 0)
			continue
		}
		wantSuccess(t, res)
		if res.TLS == nil || res.TLS.Verified || res.TLS.CertReason != ReasonCertUntrusted {
			t.Errorf("%q: TLS %+v, want reported as untrusted", tc.verification, res.TLS)
		}
	}
	// Port 25 decides when the module does not.
	for port, want := range map[int]bool{25: false, 587: true, 465: true, 2525: true} {
		d := &dialogue{target: Target{Host: "mx.example.com", Port: port}, mod: module("starttls", "", time.Second)}
		if got := d.certificateRequired(); got != want {
			t.Errorf("port %d: certificate required %v, want %v", port, got, want)
		}
	}
}

// TestQuitAfterFailureWaitsFor221: after a failure the server answered, the
// probe says QUIT and reads the 221, so the server logs a clean end; a
// server that never answers the QUIT costs at most quitWait.
func TestQuitAfterFailureWaitsFor221(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Greeting: []string{"554 5.3.2 not now"}})
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := module("tcp", "", 5*time.Second)
	res := Probe(context.Background(), Target{Host: "127.0.0.1", Port: srv.Port}, m, logger)
	wantFailure(t, res, PhaseGreeting, ReasonUnexpectedCode, 554)
	if !slices.Contains(srv.Commands(), "QUIT") || !strings.Contains(log.String(), "S: 221") {
		t.Errorf("commands %v; transcript lacks the 221:\n%s", srv.Commands(), log.String())
	}

	silent := smtptest.NewHandlerServer(t, func(c *smtptest.Conn) {
		c.Send("554 go away\r\n")
		time.Sleep(quitWait + 500*time.Millisecond) // reads nothing, answers nothing
	})
	start := time.Now()
	res = Probe(context.Background(), Target{Host: "127.0.0.1", Port: silent.Port}, m, testLogger(t))
	wantFailure(t, res, PhaseGreeting, ReasonUnexpectedCode, 554)
	if took := time.Since(start); took > quitWait+time.Second {
		t.Errorf("a silent server after QUIT held the probe %s", took)
	}
}

// TestQuitAfterUntrustedCertificateOnImplicitTLS: on 465 the certificate is
// judged before the greeting; once TLS is up the probe still reads the
// greeting and says QUIT, as it does after STARTTLS, so the server logs a
// clean end (Exim: "lost", Dovecot: "Connection closed" otherwise). The
// greeting it read there is no measurement: no greeting code is reported.
func TestQuitAfterUntrustedCertificateOnImplicitTLS(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.selfSign, ImplicitTLS: true})
	res := probe(t, Probe, srv.Port, module("tls", p.caFile, 5*time.Second))
	wantFailure(t, res, PhaseTLS, ReasonCertUntrusted, 0)
	if !slices.Contains(srv.Commands(), "QUIT") {
		t.Errorf("commands %v: no QUIT after the failed certificate", srv.Commands())
	}
	noViolations(t, srv)
	if res.GreetingCode != 0 {
		t.Errorf("greeting code %d reported for a dialogue that failed before its greeting step", res.GreetingCode)
	}
}

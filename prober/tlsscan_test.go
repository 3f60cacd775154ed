package prober

import (
	"context"
	"crypto/tls"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

func scanned(res *Result) map[string]bool {
	out := map[string]bool{}
	for _, v := range res.TLSVersions {
		out[v.Version] = v.Accepted
	}
	return out
}

// TestTLSScanLegacyOnly: a STARTTLS server that speaks TLS 1.0 only. The
// dialogue (Go's default minimum, TLS 1.2) fails its handshake; the scan
// finds TLS 1.0 accepted and the others refused, each on a connection of its
// own that says greeting, EHLO, STARTTLS and, after a handshake, QUIT.
func TestTLSScanLegacyOnly(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, MinTLSVersion: tls.VersionTLS10, MaxTLSVersion: tls.VersionTLS10})
	m := module("starttls", p.caFile, 5*time.Second)
	m.TLSScan = true
	res := probe(t, Probe, srv.Port, m)
	wantFailure(t, res, PhaseTLS, ReasonTLSHandshake, 0)
	want := map[string]bool{"TLS 1.0": true, "TLS 1.1": false, "TLS 1.2": false, "TLS 1.3": false}
	if got := scanned(res); !maps.Equal(got, want) {
		t.Errorf("scan %v, want %v", got, want)
	}
	if n := len(srv.Peers()); n != 5 {
		t.Errorf("%d connections, want the dialogue's and 4 scans", n)
	}
	noViolations(t, srv)
	quits := 0
	for _, c := range srv.Commands() {
		if c == "QUIT" {
			quits++
		}
	}
	if quits != 1 {
		t.Errorf("%d QUITs in %q: the scan connection whose handshake completed says QUIT", quits, srv.Commands())
	}
}

// TestTLSScanModernOnly: an implicit-TLS server that speaks TLS 1.3 only.
// The dialogue negotiates 1.3, which counts without another connection.
func TestTLSScanModernOnly(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, ImplicitTLS: true, MinTLSVersion: tls.VersionTLS13})
	m := module("tls", p.caFile, 5*time.Second)
	m.TLSScan = true
	res := probe(t, Probe, srv.Port, m)
	wantSuccess(t, res)
	want := []TLSVersionAccepted{{"TLS 1.0", false}, {"TLS 1.1", false}, {"TLS 1.2", false}, {"TLS 1.3", true}}
	if !slices.Equal(res.TLSVersions, want) {
		t.Errorf("scan %v, want %v (oldest first)", res.TLSVersions, want)
	}
	if n := len(srv.Peers()); n != 4 {
		t.Errorf("%d connections, want the dialogue's and 3 scans", n)
	}
	if res.TLS == nil || !res.TLS.Verified || res.TLS.Version != "TLS 1.3" {
		t.Errorf("the dialogue's own TLS %+v must stay as it was", res.TLS)
	}
}

// TestTLSScanSkipped: no scan without tls_scan, nor when the server does
// not offer STARTTLS (nothing to shake hands over).
func TestTLSScanSkipped(t *testing.T) {
	p := newPKI(t)
	for name, tc := range map[string]struct {
		opts smtptest.Options
		scan bool
	}{
		"off":                 {smtptest.Options{Cert: &p.good}, false},
		"no STARTTLS offered": {smtptest.Options{}, true},
	} {
		t.Run(name, func(t *testing.T) {
			srv := smtptest.NewServer(t, tc.opts)
			m := module("starttls", p.caFile, 5*time.Second)
			m.TLSScan = tc.scan
			res := probe(t, Probe, srv.Port, m)
			if res.TLSVersions != nil || len(srv.Peers()) != 1 {
				t.Errorf("scan %v after %d connections, want none after 1", res.TLSVersions, len(srv.Peers()))
			}
		})
	}
}

// TestTLSScanUnderConnectionBound: with one connection slot for the whole
// probe, the dialogue and the scans take turns and all finish.
func TestTLSScanUnderConnectionBound(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good})
	m := module("starttls", p.caFile, 10*time.Second)
	m.TLSScan = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := Run(ctx, Probe, Target{Host: "127.0.0.1", Port: srv.Port}, m, testLogger(t), RunOptions{Conns: NewConnLimiter(1)})
	wantSuccess(t, res)
	if got := scanned(res); len(got) != 4 || !got["TLS 1.2"] || !got["TLS 1.3"] || got["TLS 1.0"] {
		t.Errorf("scan %v", got)
	}
	if res.Dials != 4 {
		t.Errorf("%d dials, want 4", res.Dials)
	}
}

// TestTLSScanSilentServer: scan connections that get no greeting say
// nothing of their versions, and the probe still ends by its deadline.
func TestTLSScanSilentServer(t *testing.T) {
	var conns atomic.Int32
	srv := smtptest.NewHandlerServer(t, func(c *smtptest.Conn) {
		if conns.Add(1) > 1 {
			_, _ = io.Copy(io.Discard, c) // the scan connections: silence
			return
		}
		c.Reply(220, "first")
		for {
			line, err := c.ReadLine()
			switch {
			case err != nil:
				return
			case strings.HasPrefix(line, "EHLO"):
				c.Reply(250, "first", "STARTTLS")
			case line == "STARTTLS":
				c.Reply(454, "4.7.0 TLS not available")
			default:
				c.Reply(221, "bye")
				return
			}
		}
	})
	m := module("starttls", "", time.Second)
	m.TLSScan = true
	res := probe(t, Probe, srv.Port, m) // fails if the probe overran its deadline
	wantFailure(t, res, PhaseStartTLS, ReasonUnexpectedCode, 454)
	if res.TLSVersions != nil {
		t.Errorf("scan %v, want nothing from silent connections", res.TLSVersions)
	}
	if n := conns.Load(); n != 5 {
		t.Errorf("%d connections, want 5", n)
	}
}

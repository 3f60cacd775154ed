package prober

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// TestCipherSuiteName: the table gives tls.CipherSuiteName's names, for
// unknown suites too.
func TestCipherSuiteName(t *testing.T) {
	ids := []uint16{0, 0x1234, 0xffff}
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, c.ID)
	}
	for _, id := range ids {
		if got, want := cipherSuiteName(id), tls.CipherSuiteName(id); got != want {
			t.Errorf("cipherSuiteName(%#x) = %q, want %q", id, got, want)
		}
	}
}

// TestLeafInfoCached: a certificate seen before gets the same LeafInfo as
// rendering it anew, another certificate its own, and the cache stays
// within maxLeafInfos certificates.
func TestLeafInfoCached(t *testing.T) {
	ca := smtptest.NewCA(t)
	var certs []*x509.Certificate
	for _, host := range []string{"mx1.example.test", "192.0.2.7"} {
		tc := ca.Issue(t, []string{host, "mail.example.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		c, err := x509.ParseCertificate(tc.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	for range 2 {
		for _, c := range certs {
			if got, want := leafInfo(c), newLeafInfo(c, sha256.Sum256(c.Raw)); got != want {
				t.Errorf("leafInfo = %+v, want %+v", got, want)
			}
		}
	}
	if leafInfo(certs[0]) == leafInfo(certs[1]) {
		t.Error("two certificates, one LeafInfo")
	}
	for i := range maxLeafInfos + 10 {
		c := *certs[0]
		c.Raw = append([]byte{byte(i), byte(i >> 8)}, c.Raw...)
		leafInfo(&c)
	}
	leafInfos.Lock()
	defer leafInfos.Unlock()
	if n := len(leafInfos.byFingerprint); n > maxLeafInfos {
		t.Errorf("%d certificates cached, at most %d wanted", n, maxLeafInfos)
	}
}

// TestHandshakeEndsWithContext: a server that stalls in the TLS handshake
// holds the probe until its context ends, by cancellation (the scraper went
// away) or by its deadline, and no longer; the failure is a timeout at tls
// carrying the context's error.
func TestHandshakeEndsWithContext(t *testing.T) {
	stall := smtptest.NewHandlerServer(t, func(c *smtptest.Conn) {
		c.Reply(220, "stall.test ESMTP")
		for {
			line, err := c.ReadLine()
			switch {
			case err != nil:
				return
			case strings.HasPrefix(line, "EHLO"):
				c.Reply(250, "stall.test", "STARTTLS")
			case line == "STARTTLS":
				c.Reply(220, "go ahead")
				_, _ = io.Copy(io.Discard, c) // the ClientHello, never answered
				return
			}
		}
	})
	m := module("starttls", "", 30*time.Second)
	for _, tc := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		ctx, cancel := tc.ctx()
		start := time.Now()
		res := Probe(ctx, Target{Host: "127.0.0.1", Port: stall.Port}, m, testLogger(t))
		took := time.Since(start)
		cancel()
		if f := res.Failure; f == nil || f.Phase != PhaseTLS || f.Reason != ReasonTimeout || !errors.Is(f.Err, tc.wantErr) {
			t.Errorf("%s: failure %+v, want a timeout at tls with %v", tc.name, f, tc.wantErr)
		}
		if took > 5*time.Second {
			t.Errorf("%s: the probe took %s, its context ended after 300ms", tc.name, took)
		}
	}
}

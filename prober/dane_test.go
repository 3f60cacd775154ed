package prober

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// tlsaData is what a TLSA record of selector and matching type holds for c.
func tlsaData(selector, mtype uint8, c *x509.Certificate) []byte {
	data := c.Raw
	if selector == 1 {
		data = c.RawSubjectPublicKeyInfo
	}
	switch mtype {
	case 1:
		sum := sha256.Sum256(data)
		data = sum[:]
	case 2:
		sum := sha512.Sum512(data)
		data = sum[:]
	}
	return data
}

// tlsaRR is a zone-file TLSA line for c.
func tlsaRR(name string, usage, selector, mtype uint8, c *x509.Certificate) string {
	return fmt.Sprintf("%s 300 IN TLSA %d %d %d %s", name, usage, selector, mtype, hex.EncodeToString(tlsaData(selector, mtype, c)))
}

// TestDANEMatchEveryCombination covers usages 2 and 3 with every selector and matching type.
func TestDANEMatchEveryCombination(t *testing.T) {
	ca := smtptest.NewCA(t)
	other := smtptest.NewCA(t)
	now := time.Now()
	leaf := ca.Issue(t, []string{"mx.example.test"}, now.Add(-time.Hour), now.Add(time.Hour)).Leaf
	chain := []*x509.Certificate{leaf, ca.Cert}
	stranger := other.Issue(t, []string{"mx.example.test"}, now.Add(-time.Hour), now.Add(time.Hour)).Leaf

	for _, usage := range []uint8{2, 3} {
		for _, sel := range []uint8{0, 1} {
			for _, mt := range []uint8{0, 1, 2} {
				name := fmt.Sprintf("%d %d %d", usage, sel, mt)
				subject := leaf // DANE-EE names the server's own certificate
				if usage == 2 {
					subject = ca.Cert // DANE-TA names the trust anchor it chains to
				}
				rec := tlsaRecord{Usage: usage, Selector: sel, MatchingType: mt, Data: tlsaData(sel, mt, subject)}
				if !daneMatch(chain, []tlsaRecord{rec}, "mx.example.test", now) {
					t.Errorf("%s: the matching record does not match", name)
				}
				wrong := tlsaRecord{Usage: usage, Selector: sel, MatchingType: mt, Data: tlsaData(sel, mt, stranger)}
				if daneMatch(chain, []tlsaRecord{wrong}, "mx.example.test", now) {
					t.Errorf("%s: another certificate's record matches", name)
				}
				// Any one matching record of the set is enough.
				if !daneMatch(chain, []tlsaRecord{wrong, rec}, "mx.example.test", now) {
					t.Errorf("%s: a matching record after a stale one does not match", name)
				}
			}
		}
	}
}

func TestDANERules(t *testing.T) {
	ca := smtptest.NewCA(t)
	now := time.Now()
	expired := ca.Issue(t, []string{"mx.example.test"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour)).Leaf
	leaf := ca.Issue(t, []string{"mx.example.test"}, now.Add(-time.Hour), now.Add(time.Hour)).Leaf
	ee := func(c *x509.Certificate) []tlsaRecord {
		return []tlsaRecord{{Usage: 3, Selector: 1, MatchingType: 1, Data: tlsaData(1, 1, c)}}
	}
	ta := []tlsaRecord{{Usage: 2, Selector: 0, MatchingType: 1, Data: tlsaData(0, 1, ca.Cert)}}

	if !daneMatch([]*x509.Certificate{expired}, ee(expired), "other.test", now) {
		t.Error("DANE-EE checks neither dates nor names (RFC 7672 §3.1.1), yet an expired leaf for another name failed")
	}
	if daneMatch([]*x509.Certificate{leaf, ca.Cert}, ta, "other.test", now) {
		t.Error("DANE-TA matched a leaf that does not name the host")
	}
	if daneMatch([]*x509.Certificate{expired, ca.Cert}, ta, "mx.example.test", now) {
		t.Error("DANE-TA matched an expired leaf")
	}
	if daneMatch([]*x509.Certificate{leaf}, ta, "mx.example.test", now) {
		t.Error("DANE-TA matched a trust anchor the server did not send")
	}
	if daneMatch([]*x509.Certificate{leaf, ca.Cert}, ee(ca.Cert), "mx.example.test", now) {
		t.Error("DANE-EE matched a certificate other than the leaf")
	}
	for _, r := range []tlsaRecord{{Usage: 0}, {Usage: 1}, {Usage: 3, Selector: 2}, {Usage: 3, MatchingType: 3}} {
		if tlsaUsable(r) {
			t.Errorf("%d %d %d is usable for SMTP", r.Usage, r.Selector, r.MatchingType)
		}
	}
}

// daneNet is mxNet with DANE on: mx1 pinned by DANE-EE, mx2 by DANE-TA
// (its server sends the CA certificate after the leaf).
func daneNet(t *testing.T) *loopnet {
	n := newLoopnet(t, "127.0.25.1", "127.0.25.2")
	mx1 := n.cert(t, "mx1.example.test")
	mx2 := n.cert(t, "mx2.example.test")
	mx2.Certificate = append(mx2.Certificate, n.ca.Cert.Raw)
	n.serve(t, mx1, "127.0.25.1")
	n.serve(t, mx2, "127.0.25.2")
	n.dns.Add(t,
		"example.test. 300 IN MX 10 mx1.example.test.",
		"example.test. 300 IN MX 20 mx2.example.test.",
		"mx1.example.test. 300 IN A 127.0.25.1",
		"mx2.example.test. 300 IN A 127.0.25.2",
		tlsaRR(fmt.Sprintf("_%d._tcp.mx1.example.test.", n.port), 3, 1, 1, mx1.Leaf),
		tlsaRR(fmt.Sprintf("_%d._tcp.mx2.example.test.", n.port), 2, 0, 2, n.ca.Cert),
	)
	return n
}

func TestDANEOverSMTP(t *testing.T) {
	n := daneNet(t)
	m := n.module("mx")
	m.DANE = true
	res := run(t, Probe, Target{Host: "example.test"}, m)
	if !res.Success() {
		t.Fatalf("failed: %v %+v", res.Failure, res.MX.Hosts)
	}
	for _, h := range res.MX.Hosts {
		d := h.Result.DANE
		if d == nil || d.Records != 1 || !d.Validated || d.Match == nil || !*d.Match {
			t.Errorf("%s: DANE %+v, want one validated record that matches", h.Name, d)
		}
		if _, ok := h.Result.Duration(PhaseDANE); !ok {
			t.Errorf("%s: no dane phase", h.Name)
		}
	}
}

// TestDANEMismatchAfterRenewal: mx2's certificate was renewed with a new key,
// but its TLSA record still pins the old one. Senders enforcing DANE stop delivering.
func TestDANEMismatchAfterRenewal(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1", "127.0.25.2")
	mx1 := n.cert(t, "mx1.example.test")
	old, renewed := n.cert(t, "mx2.example.test"), n.cert(t, "mx2.example.test")
	n.serve(t, mx1, "127.0.25.1")
	srv := n.serve(t, renewed, "127.0.25.2")[0]
	n.dns.Add(t,
		"example.test. 300 IN MX 10 mx1.example.test.",
		"example.test. 300 IN MX 20 mx2.example.test.",
		"mx1.example.test. 300 IN A 127.0.25.1",
		"mx2.example.test. 300 IN A 127.0.25.2",
		tlsaRR(fmt.Sprintf("_%d._tcp.mx1.example.test.", n.port), 3, 0, 0, mx1.Leaf),
		tlsaRR(fmt.Sprintf("_%d._tcp.mx2.example.test.", n.port), 3, 1, 1, old.Leaf),
	)
	m := n.module("mx")
	m.DANE = true
	res := run(t, Probe, Target{Host: "example.test"}, m)
	if res.Success() || res.Working() != 1 {
		t.Fatalf("success %v, working %d: want mx2 to fail", res.Success(), res.Working())
	}
	mx2 := host(t, res, "mx2.example.test").Result
	wantFailure(t, mx2, PhaseDANE, ReasonDANEMismatch, 0)
	if d := mx2.DANE; d == nil || !d.Validated || d.Match == nil || *d.Match {
		t.Errorf("mx2 DANE %+v, want validated and not matching", d)
	}
	if mx2.TLS == nil || !mx2.TLS.Verified {
		t.Error("the renewed certificate is valid PKIX-wise: only DANE should fail")
	}
	noViolations(t, srv)
}

// TestDANEUnvalidatedIgnored: a stale TLSA record the resolver did not
// validate is reported and ignored (RFC 7672 §2.2).
func TestDANEUnvalidatedIgnored(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	cert, stale := n.cert(t, "mx1.example.test"), n.cert(t, "mx1.example.test")
	n.serve(t, cert, "127.0.25.1")
	name := fmt.Sprintf("_%d._tcp.mx1.example.test.", n.port)
	n.dns.Add(t, "example.test. 300 IN MX 10 mx1.example.test.", "mx1.example.test. 300 IN A 127.0.25.1",
		tlsaRR(name, 3, 1, 1, stale.Leaf))
	n.dns.Insecure(name)
	m := n.module("mx")
	m.DANE = true
	res := run(t, Probe, Target{Host: "example.test"}, m)
	if !res.Success() {
		t.Fatalf("an unvalidated TLSA record failed the probe: %+v", host(t, res, "mx1.example.test").Result.Failure)
	}
	if d := host(t, res, "mx1.example.test").Result.DANE; d == nil || d.Records != 1 || d.Validated || d.Match != nil {
		t.Errorf("DANE %+v, want one unvalidated record and no match verdict", d)
	}
}

func TestDANENoRecordsAndLookupFailure(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1", "127.0.25.2")
	n.serve(t, n.cert(t, "mx1.example.test"), "127.0.25.1")
	n.serve(t, n.cert(t, "mx2.example.test"), "127.0.25.2")
	n.dns.Add(t, "example.test. 300 IN MX 10 mx1.example.test.", "example.test. 300 IN MX 20 mx2.example.test.",
		"mx1.example.test. 300 IN A 127.0.25.1", "mx2.example.test. 300 IN A 127.0.25.2")
	n.dns.ServFail(fmt.Sprintf("_%d._tcp.mx2.example.test.", n.port))
	m := n.module("mx")
	m.DANE = true
	res := run(t, Probe, Target{Host: "example.test"}, m)
	mx1 := host(t, res, "mx1.example.test").Result
	wantSuccess(t, mx1)
	if d := mx1.DANE; d == nil || d.Records != 0 || !d.Validated || d.Match != nil {
		t.Errorf("mx1 DANE %+v, want no records (validated denial) and no verdict", d)
	}
	wantFailure(t, host(t, res, "mx2.example.test").Result, PhaseDANE, ReasonDNS, 0)
}

// TestDANEStartTLSProber: dane also works for one host, with its own port in the TLSA name.
func TestDANEStartTLSProber(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	cert := n.cert(t, "smtp.example.test")
	n.serve(t, cert, "127.0.25.1")
	n.dns.Add(t, "smtp.example.test. 300 IN A 127.0.25.1",
		tlsaRR(fmt.Sprintf("_%d._tcp.smtp.example.test.", n.port), 3, 0, 1, cert.Leaf))
	m := n.module("starttls")
	m.DANE = true
	res := run(t, Probe, Target{Host: "smtp.example.test", Port: n.port}, m)
	wantSuccess(t, res)
	if d := res.DANE; d == nil || d.Match == nil || !*d.Match {
		t.Errorf("DANE %+v, want a match", d)
	}
	wantPhases(t, res, PhaseResolve, PhaseConnect, PhaseGreeting, PhaseEHLO, PhaseStartTLS, PhaseTLS, PhaseDANE, PhaseQuit)

	// Without dane: no lookup, no DANE result.
	m.DANE = false
	if res := run(t, Probe, Target{Host: "smtp.example.test", Port: n.port}, m); res.DANE != nil {
		t.Errorf("DANE %+v without dane: true", res.DANE)
	}
}

// TestDANEEESelfSigned: a self-signed certificate pinned by a validated
// DANE-EE record is the common DANE MX (RFC 7672 §3.1.1); without the record,
// or with an unvalidated one, the PKIX verdict stands.
func TestDANEEESelfSigned(t *testing.T) {
	for _, tc := range []struct {
		name      string
		record    bool
		validated bool
		want      Reason // "" for success
	}{
		{"validated DANE-EE record authenticates", true, true, ""},
		{"no TLSA record: untrusted", false, true, ReasonCertUntrusted},
		{"unvalidated record: ignored, untrusted", true, false, ReasonCertUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newLoopnet(t, "127.0.25.1")
			self := smtptest.SelfSigned(t, []string{"mx1.example.test"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
			n.serve(t, self, "127.0.25.1")
			n.dns.Add(t, "example.test. 300 IN MX 10 mx1.example.test.", "mx1.example.test. 300 IN A 127.0.25.1")
			if tc.record {
				n.dns.Add(t, tlsaRR(fmt.Sprintf("_%d._tcp.mx1.example.test.", n.port), 3, 1, 1, self.Leaf))
			}
			if !tc.validated {
				n.dns.Insecure(fmt.Sprintf("_%d._tcp.mx1.example.test.", n.port))
			}
			m := n.module("mx")
			m.DANE = true
			res := run(t, Probe, Target{Host: "example.test"}, m)
			h := host(t, res, "mx1.example.test")
			if tc.want == "" {
				if !res.Success() || h.Result.DANE == nil || h.Result.DANE.Match == nil || !*h.Result.DANE.Match {
					t.Fatalf("failure %v, DANE %+v: want success through DANE-EE", h.Result.Failure, h.Result.DANE)
				}
				if h.Result.TLS == nil || h.Result.TLS.Verified {
					t.Errorf("tls %+v: PKIX must still say not verified", h.Result.TLS)
				}
				return
			}
			if f := h.Result.Failure; f == nil || f.Phase != PhaseTLS || f.Reason != tc.want {
				t.Fatalf("failure %v, want tls/%s", f, tc.want)
			}
		})
	}
}

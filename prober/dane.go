package prober

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"time"
)

// tlsaRecord is one TLSA record (RFC 6698 §2.1): which certificate it names
// and how, and the certificate association data, as bytes.
type tlsaRecord struct {
	Usage        uint8
	Selector     uint8
	MatchingType uint8
	Data         []byte
}

// DANEResult is what the TLSA check of one dialogue found (RFC 7672).
type DANEResult struct {
	Records   int  // TLSA records at _PORT._tcp.HOST
	Validated bool // the resolver's answer had the AD bit: DNSSEC-validated
	// Match is whether the presented chain matches a usable record; nil when
	// the records are not validated (RFC 7672 says ignore them) or none is usable.
	Match *bool
}

// dane is the step after the handshake with dane: true. Unvalidated TLSA
// records are reported and ignored, as senders do; validated ones that do
// not match fail the dialogue (senders enforcing DANE will not deliver).
// A TLSA lookup that fails (SERVFAIL, timeout) fails it too: DANE senders
// defer mail to such a host when its zone is signed.
func (d *dialogue) dane(ctx context.Context) *Failure {
	if !d.mod.DANE || net.ParseIP(d.target.Host) != nil {
		return nil
	}
	tc, ok := d.c.raw.(*tls.Conn)
	if !ok {
		return d.pkixVerdict()
	}
	start := d.begin(PhaseDANE)
	ans, err := newResolver(d.mod).lookupTLSA(ctx, d.target.Host, d.target.Port)
	d.timed(PhaseDANE, start)
	if err != nil {
		return fail(PhaseDANE, err)
	}
	res := &DANEResult{Records: len(ans.records), Validated: ans.validated}
	d.res.DANE = res
	var usable []tlsaRecord
	for _, r := range ans.records {
		if tlsaUsable(r) {
			usable = append(usable, r)
		}
	}
	switch {
	case len(ans.records) == 0:
		return d.pkixVerdict()
	case !ans.validated:
		d.logger.Debug("TLSA records not DNSSEC-validated (no AD bit): ignored", "records", len(ans.records))
		return d.pkixVerdict()
	case len(usable) == 0:
		d.logger.Debug("no usable TLSA record (usage 2 or 3, selector 0 or 1, matching type 0-2)", "records", len(ans.records))
		return d.pkixVerdict()
	}
	match := daneMatch(tc.ConnectionState().PeerCertificates, usable, d.target.Host, time.Now())
	res.Match = &match
	if !match {
		return failWith(PhaseDANE, ReasonDANEMismatch, 0, fmt.Errorf("no TLSA record of _%d._tcp.%s matches the certificate chain", d.target.Port, d.target.Host))
	}
	if d.certErr != nil {
		d.logger.Debug("certificate authenticated by DANE, not PKIX", "pkix_err", d.certErr)
	}
	return nil
}

// pkixVerdict is the certificate failure the handshake held back, now that
// DANE cannot authenticate the server instead.
func (d *dialogue) pkixVerdict() *Failure {
	if d.certErr == nil || !d.certificateRequired() {
		return nil
	}
	return failWith(PhaseTLS, classifyCert(d.certErr), 0, d.certErr)
}

// tlsaUsable: RFC 7672 §3.1 makes PKIX usages 0 and 1 unusable for SMTP.
func tlsaUsable(r tlsaRecord) bool {
	return (r.Usage == 2 || r.Usage == 3) && r.Selector <= 1 && r.MatchingType <= 2
}

// daneMatch reports whether the chain matches one of the usable records:
// DANE-EE (3) matches the leaf, with no name or date checks (RFC 7672 §3.1.1);
// DANE-TA (2) matches a certificate the server sent after the leaf, and the
// leaf must chain to it, be in date and name host (§3.1.2). A trust anchor
// the server does not send is not supported.
func daneMatch(certs []*x509.Certificate, records []tlsaRecord, host string, now time.Time) bool {
	if len(certs) == 0 {
		return false
	}
	for _, r := range records {
		switch r.Usage {
		case 3:
			if tlsaMatches(r, certs[0]) {
				return true
			}
		case 2:
			for i := 1; i < len(certs); i++ {
				if tlsaMatches(r, certs[i]) && chainsTo(certs[:i], certs[i], host, now) {
					return true
				}
			}
		}
	}
	return false
}

// tlsaMatches compares one certificate with one record: selector 0 the whole
// certificate, 1 its public key; matching type 0 exact, 1 SHA-256, 2 SHA-512.
func tlsaMatches(r tlsaRecord, c *x509.Certificate) bool {
	data := c.Raw
	if r.Selector == 1 {
		data = c.RawSubjectPublicKeyInfo
	}
	switch r.MatchingType {
	case 1:
		sum := sha256.Sum256(data)
		data = sum[:]
	case 2:
		sum := sha512.Sum512(data)
		data = sum[:]
	}
	return bytes.Equal(data, r.Data)
}

// chainsTo reports whether chain (leaf first) verifies up to the trust anchor ta, for host.
func chainsTo(chain []*x509.Certificate, ta *x509.Certificate, host string, now time.Time) bool {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(ta)
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host, CurrentTime: now})
	return err == nil
}

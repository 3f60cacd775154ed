package prober

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TLSInfo is what the TLS handshake showed, measured whether or not the
// certificate verifies.
type TLSInfo struct {
	Version        string // "TLS 1.3"
	Cipher         string // Go's cipher suite name
	Verified       bool
	EarliestExpiry time.Time // earliest NotAfter among the presented certificates
	LeafExpiry     time.Time // the server's own certificate's NotAfter
	ChainExpiry    time.Time // earliest NotAfter in the verified chain; zero when it did not verify
	Leaf           LeafInfo
	// CertReason is why the certificate did not verify (cert_expired,
	// cert_untrusted, cert_hostname); empty when it verified.
	CertReason Reason
}

// LeafInfo identifies the server's certificate (blackbox's probe_ssl_last_chain_info format).
type LeafInfo struct {
	FingerprintSHA256 string
	Subject           string
	Issuer            string
	SubjectAlt        string
	Serial            string
}

// inspectTLS reads the handshake's state and verifies the chain and host name
// ourselves (the handshake itself skips verification, so that a bad
// certificate is still measured). err is nil when the certificate verifies.
func inspectTLS(state tls.ConnectionState, roots *x509.CertPool, serverName string, now time.Time) (*TLSInfo, error) {
	info := &TLSInfo{
		Version: tls.VersionName(state.Version),
		Cipher:  tls.CipherSuiteName(state.CipherSuite),
	}
	certs := state.PeerCertificates
	if len(certs) == 0 {
		return info, errors.New("server presented no certificate")
	}
	for _, c := range certs {
		if info.EarliestExpiry.IsZero() || c.NotAfter.Before(info.EarliestExpiry) {
			info.EarliestExpiry = c.NotAfter
		}
	}
	info.Leaf = leafInfo(certs[0])
	info.LeafExpiry = certs[0].NotAfter

	chains, err := verify(certs, roots, serverName, now)
	if err != nil {
		info.CertReason = classifyCert(err)
		return info, err
	}
	info.Verified = true
	info.ChainExpiry = lastChainExpiry(chains)
	return info, nil
}

// verify checks validity dates first, then the chain, then the name, so the
// reason is deterministic: cert_expired, cert_untrusted, cert_hostname.
func verify(certs []*x509.Certificate, roots *x509.CertPool, serverName string, now time.Time) ([][]*x509.Certificate, error) {
	leaf := certs[0]
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, x509.CertificateInvalidError{Cert: leaf, Reason: x509.Expired,
			Detail: fmt.Sprintf("valid from %s to %s", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now})
	if err != nil {
		return nil, err
	}
	if serverName != "" {
		if err := leaf.VerifyHostname(serverName); err != nil {
			return nil, err
		}
	}
	return chains, nil
}

// lastChainExpiry is, over the verified chains, the latest of each chain's
// earliest expiry: the date until which some valid chain exists.
func lastChainExpiry(chains [][]*x509.Certificate) time.Time {
	var last time.Time
	for _, chain := range chains {
		var earliest time.Time
		for _, c := range chain {
			if earliest.IsZero() || c.NotAfter.Before(earliest) {
				earliest = c.NotAfter
			}
		}
		if earliest.After(last) {
			last = earliest
		}
	}
	return last
}

func leafInfo(c *x509.Certificate) LeafInfo {
	sum := sha256.Sum256(c.Raw)
	sans := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	return LeafInfo{
		FingerprintSHA256: hex.EncodeToString(sum[:]),
		Subject:           c.Subject.String(),
		Issuer:            c.Issuer.String(),
		SubjectAlt:        strings.Join(sans, ","),
		Serial:            hex.EncodeToString(c.SerialNumber.Bytes()),
	}
}

package prober

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
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
		Cipher:  cipherSuiteName(state.CipherSuite),
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
	var inter *x509.CertPool // nil when the server sent its certificate alone
	for _, c := range certs[1:] {
		if inter == nil {
			inter = x509.NewCertPool()
		}
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

// cipherNames is tls.CipherSuiteName's table, made once: the function
// builds the list of every suite anew on each call.
var cipherNames = sync.OnceValue(func() map[uint16]string {
	names := map[uint16]string{}
	for _, c := range append(tls.InsecureCipherSuites(), tls.CipherSuites()...) {
		names[c.ID] = c.Name
	}
	return names
})

func cipherSuiteName(id uint16) string {
	if name, ok := cipherNames()[id]; ok {
		return name
	}
	return tls.CipherSuiteName(id)
}

// leafInfos keeps leafInfo's answers by the certificate's fingerprint, up
// to maxLeafInfos certificates: a monitor meets the same ones probe after
// probe, and rendering their names takes some twenty allocations.
var leafInfos struct {
	sync.Mutex
	byFingerprint map[[sha256.Size]byte]LeafInfo
}

const maxLeafInfos = 512

// leafInfo identifies c; everything in it derives from c.Raw, which the
// fingerprint covers.
func leafInfo(c *x509.Certificate) LeafInfo {
	sum := sha256.Sum256(c.Raw)
	leafInfos.Lock()
	info, ok := leafInfos.byFingerprint[sum]
	leafInfos.Unlock()
	if ok {
		return info
	}
	info = newLeafInfo(c, sum)
	leafInfos.Lock()
	defer leafInfos.Unlock()
	if len(leafInfos.byFingerprint) >= maxLeafInfos || leafInfos.byFingerprint == nil {
		leafInfos.byFingerprint = make(map[[sha256.Size]byte]LeafInfo)
	}
	leafInfos.byFingerprint[sum] = info
	return info
}

func newLeafInfo(c *x509.Certificate, sum [sha256.Size]byte) LeafInfo {
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

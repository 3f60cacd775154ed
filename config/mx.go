package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// MX configures the mx prober: the target is a domain, and each of its MX
// hosts is probed with STARTTLS.
type MX struct {
	// Port is where MX hosts are probed: 25, as senders deliver. Other values are for labs and tests.
	Port int `yaml:"port,omitempty"`
	// MTASTS fetches and checks the domain's MTA-STS policy (RFC 8461).
	MTASTS bool `yaml:"mta_sts,omitempty"`
	// MTASTSPort is where the policy is fetched over HTTPS: 443, as RFC 8461 says. Other values are for labs and tests.
	MTASTSPort int `yaml:"mta_sts_port,omitempty"`
	// TLSRPT looks up the domain's TLS-RPT record (RFC 8460) and reports it.
	TLSRPT bool `yaml:"tls_rpt,omitempty"`
}

// DefaultMTASTSPort is where the policy is fetched: 443, as RFC 8461 says.
const DefaultMTASTSPort = 443

// parseResolverAddr reads IP or IP:PORT (port 53 by default). A host name is
// refused: finding the resolver would need a resolver.
func parseResolverAddr(s string) (string, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(ip, 53).String(), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("must be IP or IP:PORT, got %q", s)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("must be an IP address, not a name, got %q", s)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("port must be 1-65535, got %q", s)
	}
	return netip.AddrPortFrom(ip, uint16(p)).String(), nil
}

package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
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
}

// Default ports of the mx prober.
const (
	DefaultMXPort     = 25
	DefaultMTASTSPort = 443
)

// validatePort25 checks the inbound-mail options: dns_resolver, all_addresses,
// dane and the mx block. It fills the defaults of the mx block.
func (m *Module) validatePort25() error {
	if m.DNSResolver != "" {
		addr, err := parseResolverAddr(m.DNSResolver)
		if err != nil {
			return fmt.Errorf("dns_resolver: %w", err)
		}
		m.DNSResolver = addr
	}
	if m.AllAddresses && !slices.Contains([]string{"tcp", "starttls", "tls", "mx"}, m.Prober) {
		return fmt.Errorf("all_addresses: only for prober tcp, starttls, tls or mx, not %s", m.Prober)
	}
	if m.DANE && m.Prober != "starttls" && m.Prober != "mx" {
		return fmt.Errorf("dane: only for prober starttls or mx, not %s", m.Prober)
	}
	if m.Prober != "mx" {
		if m.MX != (MX{}) {
			return fmt.Errorf("mx: only for prober mx, not %s", m.Prober)
		}
		return nil
	}
	if m.MX.Port == 0 {
		m.MX.Port = DefaultMXPort
	}
	if m.MX.Port < 1 || m.MX.Port > 65535 {
		return fmt.Errorf("mx.port: must be 1-65535, got %d", m.MX.Port)
	}
	switch {
	case !m.MX.MTASTS && m.MX.MTASTSPort != 0:
		return errors.New("mx.mta_sts_port: only with mx.mta_sts: true")
	case m.MX.MTASTS && m.MX.MTASTSPort == 0:
		m.MX.MTASTSPort = DefaultMTASTSPort
	}
	if m.MX.MTASTSPort < 0 || m.MX.MTASTSPort > 65535 {
		return fmt.Errorf("mx.mta_sts_port: must be 1-65535, got %d", m.MX.MTASTSPort)
	}
	if m.SMTP.Auth != nil {
		return errors.New("smtp.auth: not for prober mx (port 25 takes mail from other servers without AUTH)")
	}
	if m.TLSConfig.ServerName != "" {
		return errors.New("tls_config.server_name: not for prober mx (each MX host's certificate is checked against its own name)")
	}
	return nil
}

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

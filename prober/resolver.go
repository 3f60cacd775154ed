package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// resolvConf is where the system's resolver is read from when a module sets no dns_resolver.
const resolvConf = "/etc/resolv.conf"

// resolver answers one module's DNS questions through its dns_resolver (or
// the system's): addresses through Go's resolver, and MX, TLSA and TXT
// through miekg/dns, which shows what Go's hides: the AD bit and null MX.
type resolver struct {
	server string // IP:PORT; "" is the system's
}

func newResolver(m config.Module) resolver { return resolver{server: m.DNSResolver} }

// ips is Go's resolver, pointed at the module's server when it has one.
func (r resolver) ips() *net.Resolver {
	if r.server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, r.server)
	}}
}

// lookupAddrs returns the host's addresses of the family the module allows
// (both unless ip_protocol_fallback is off), sorted IPv4 first, without duplicates.
func (r resolver) lookupAddrs(ctx context.Context, host string, m config.Module) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	network := "ip"
	// A socket bound to source_ip_address reaches only its own family,
	// which the validation made the preferred one.
	if !m.IPProtocolFallback || m.SourceIPAddress != "" {
		network = "ip4"
		if m.PreferredIPProtocol == "ip6" {
			network = "ip6"
		}
	}
	addrs, err := r.ips().LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no address", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

// pick chooses the one address a dialogue dials: an IP literal as it is,
// otherwise the lowest address of the preferred family (stable from probe to
// probe), or of the other family when ip_protocol_fallback allows.
func (r resolver) pick(ctx context.Context, host string, m config.Module) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	addrs, err := r.lookupAddrs(ctx, host, m)
	if err != nil {
		return netip.Addr{}, err
	}
	wantV4 := m.PreferredIPProtocol != "ip6"
	for _, a := range addrs {
		if a.Is4() == wantV4 {
			return a, nil
		}
	}
	return addrs[0], nil // lookupAddrs returned the other family only because fallback is on
}

// query asks one question with the DO bit set, so a validating resolver
// says with the AD bit whether it validated the answer. It retries over
// TCP when the UDP answer is truncated and on a lost UDP packet (3 tries at
// most). NXDOMAIN is an answer, not an error; SERVFAIL and the like are.
func (r resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	server := r.server
	if server == "" {
		s, err := systemResolver(resolvConf)
		if err != nil {
			return nil, &net.DNSError{Err: err.Error(), Name: name}
		}
		server = s
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(1232, true)
	q.AuthenticatedData = true

	c := &dns.Client{Net: "udp"}
	var (
		in  *dns.Msg
		err error
	)
	for range 3 {
		c.Timeout = min(remaining(ctx), 2*time.Second)
		in, _, err = c.ExchangeContext(ctx, q, server)
		if err == nil && in.Truncated && c.Net == "udp" {
			c.Net = "tcp"
			continue
		}
		if err == nil || ctx.Err() != nil || !isTimeout(err) {
			break
		}
	}
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name, Server: server, IsTimeout: isTimeout(err) || ctx.Err() != nil}
	}
	if in.Rcode != dns.RcodeSuccess && in.Rcode != dns.RcodeNameError {
		return nil, &net.DNSError{Err: "server answered " + dns.RcodeToString[in.Rcode], Name: name, Server: server}
	}
	return in, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// systemResolver is the first nameserver of resolv.conf.
func systemResolver(path string) (string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return "", fmt.Errorf("no dns_resolver set and cannot read the system's: %w", err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("no dns_resolver set and %s lists no nameserver", path)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

// mxRecord is one MX record: the host name (lower case, no trailing dot) and its preference.
type mxRecord struct {
	Host       string
	Preference uint16
}

// lookupMX returns the domain's MX records. A domain that does not exist is
// an error; one without MX records returns none.
func (r resolver) lookupMX(ctx context.Context, domain string) ([]mxRecord, error) {
	in, err := r.query(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	if in.Rcode == dns.RcodeNameError {
		return nil, &net.DNSError{Err: "no such domain", Name: domain, IsNotFound: true}
	}
	var out []mxRecord
	for _, rr := range in.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, mxRecord{Host: hostName(mx.Mx), Preference: mx.Preference})
		}
	}
	return out, nil
}

// tlsaAnswer is the TLSA RRset of a service and whether the resolver validated it.
type tlsaAnswer struct {
	records   []*dns.TLSA
	validated bool
}

// lookupTLSA asks for _PORT._tcp.HOST (RFC 6698 §3); no records is not an error.
func (r resolver) lookupTLSA(ctx context.Context, host string, port int) (tlsaAnswer, error) {
	in, err := r.query(ctx, fmt.Sprintf("_%d._tcp.%s", port, host), dns.TypeTLSA)
	if err != nil {
		return tlsaAnswer{}, err
	}
	a := tlsaAnswer{validated: in.AuthenticatedData}
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TLSA); ok {
			a.records = append(a.records, t)
		}
	}
	return a, nil
}

// lookupTXT returns each TXT record of name with its strings joined (RFC 7208 style).
func (r resolver) lookupTXT(ctx context.Context, name string) ([]string, error) {
	in, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// hostName is a DNS name as labels show it: lower case, no trailing dot ("." stays ".").
func hostName(s string) string {
	if s == "." {
		return s
	}
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// remaining is the time left before ctx's deadline (a small positive floor).
func remaining(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Minute
	}
	if d := time.Until(dl); d > 0 {
		return d
	}
	return time.Millisecond
}

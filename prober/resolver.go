package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// resolvConf is where the system's resolver is read from when a module sets no dns_resolver.
const resolvConf = "/etc/resolv.conf"

// resolver answers one module's DNS questions through its dns_resolver (or
// the system's): addresses through Go's resolver, and MX, TLSA and TXT
// through our own small client (dnsclient.go), which shows what Go's hides:
// the AD bit and null MX.
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
func (r resolver) query(ctx context.Context, name string, qtype dnsmessage.Type) (*dnsReply, error) {
	server := r.server
	if server == "" {
		s, err := systemResolver(resolvConf)
		if err != nil {
			return nil, &net.DNSError{Err: err.Error(), Name: name}
		}
		server = s
	}
	q, err := newDNSQuery(name, qtype)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name, Server: server}
	}
	network := "udp"
	var in *dnsReply
	for range 3 {
		in, err = exchange(ctx, network, server, q, min(remaining(ctx), 2*time.Second))
		if err == nil && in.truncated && network == "udp" {
			network = "tcp"
			continue
		}
		if err == nil || ctx.Err() != nil || !isTimeout(err) {
			break
		}
	}
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name, Server: server, IsTimeout: isTimeout(err) || ctx.Err() != nil}
	}
	if in.rcode != dnsmessage.RCodeSuccess && in.rcode != dnsmessage.RCodeNameError {
		return nil, &net.DNSError{Err: "server answered " + rcodeName(in.rcode), Name: name, Server: server}
	}
	return in, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// systemResolver is the first nameserver of resolv.conf with an IP address
// (IPv6 with a zone too), on port 53, as resolv.conf(5) has it.
func systemResolver(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no dns_resolver set and cannot read the system's: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if ip, err := netip.ParseAddr(f[1]); err == nil {
			return net.JoinHostPort(ip.String(), "53"), nil
		}
	}
	return "", fmt.Errorf("no dns_resolver set and %s lists no nameserver", path)
}

// mxRecord is one MX record: the host name (lower case, no trailing dot) and its preference.
type mxRecord struct {
	Host       string
	Preference uint16
}

// lookupMX returns the domain's MX records. A domain that does not exist is
// an error; one without MX records returns none.
func (r resolver) lookupMX(ctx context.Context, domain string) ([]mxRecord, error) {
	in, err := r.query(ctx, domain, typeMX)
	if err != nil {
		return nil, err
	}
	if in.rcode == dnsmessage.RCodeNameError {
		return nil, &net.DNSError{Err: "no such domain", Name: domain, IsNotFound: true}
	}
	var out []mxRecord
	for _, rr := range in.answers {
		if mx, ok := rr.Body.(*dnsmessage.MXResource); ok {
			out = append(out, mxRecord{Host: hostName(mx.MX.String()), Preference: mx.Pref})
		}
	}
	return out, nil
}

// tlsaAnswer is the TLSA RRset of a service and whether the resolver validated it.
type tlsaAnswer struct {
	records   []tlsaRecord
	validated bool
}

// lookupTLSA asks for _PORT._tcp.HOST (RFC 6698 §3); no records is not an
// error, and neither is one too short to be a TLSA record (it is left out).
func (r resolver) lookupTLSA(ctx context.Context, host string, port int) (tlsaAnswer, error) {
	in, err := r.query(ctx, fmt.Sprintf("_%d._tcp.%s", port, host), typeTLSA)
	if err != nil {
		return tlsaAnswer{}, err
	}
	a := tlsaAnswer{validated: in.validated}
	for _, rr := range in.answers {
		if u, ok := rr.Body.(*dnsmessage.UnknownResource); ok && len(u.Data) >= 3 {
			a.records = append(a.records, tlsaRecord{Usage: u.Data[0], Selector: u.Data[1], MatchingType: u.Data[2], Data: u.Data[3:]})
		}
	}
	return a, nil
}

// lookupTXT returns each TXT record of name with its strings joined (RFC 7208 style).
func (r resolver) lookupTXT(ctx context.Context, name string) ([]string, error) {
	in, err := r.query(ctx, name, typeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range in.answers {
		if t, ok := rr.Body.(*dnsmessage.TXTResource); ok {
			out = append(out, strings.Join(t.TXT, ""))
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

package prober

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// resolve picks the address to dial: an IP literal as it is, otherwise the
// first address of the preferred family, or of the other when fallback allows.
func resolve(ctx context.Context, host, preferred string, fallback bool) (net.IP, error) {
	return resolveWith(ctx, net.DefaultResolver, host, preferred, fallback)
}

// resolveWith is resolve through the module's resolver (dns_resolver).
func resolveWith(ctx context.Context, r *net.Resolver, host, preferred string, fallback bool) (net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip, nil
	}
	addrs, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	wantV4 := preferred != "ip6"
	var other net.IP
	for _, a := range addrs {
		if (a.IP.To4() != nil) == wantV4 {
			return a.IP, nil
		}
		if other == nil {
			other = a.IP
		}
	}
	if other != nil && fallback {
		return other, nil
	}
	return nil, &net.DNSError{Err: fmt.Sprintf("no %s address (ip_protocol_fallback is off)", preferred), Name: host, IsNotFound: true}
}

func ipProtocol(ip net.IP) int {
	if ip.To4() != nil {
		return 4
	}
	return 6
}

// connect resolves and dials t, recording the resolve and connect phases.
func (d *dialogue) connect(ctx context.Context) *Failure {
	var ip net.IP
	if d.target.Addr.IsValid() {
		// Looked up once for all dialogues (all_addresses, mx): no resolve phase here.
		ip = net.IP(d.target.Addr.AsSlice())
	} else {
		start := time.Now()
		var err error
		ip, err = resolveWith(ctx, newResolver(d.mod).ips(), d.target.Host, d.mod.PreferredIPProtocol, d.mod.IPProtocolFallback)
		d.timed(PhaseResolve, start)
		if err != nil {
			return fail(PhaseResolve, err)
		}
	}
	if addr, ok := netip.AddrFromSlice(ip); !ok || !d.mod.Allowed.Allows(d.target.Host, addr.Unmap()) {
		return failWith(PhaseResolve, ReasonForbidden, 0, fmt.Errorf("%w: %s resolves to %s", ErrTargetForbidden, d.target.Host, ip))
	}
	d.res.IPProtocol = ipProtocol(ip)
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(d.target.Port))
	d.logger.Debug("connecting", "address", addr)

	start := time.Now()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	d.timed(PhaseConnect, start)
	if err != nil {
		return fail(PhaseConnect, err)
	}
	d.res.Reachable = true
	d.stopDeadline = bindDeadline(ctx, c)
	d.c = newConn(c, d.logger)
	return nil
}

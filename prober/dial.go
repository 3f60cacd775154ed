package prober

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// connect resolves and dials t, recording the resolve and connect phases.
func (d *dialogue) connect(ctx context.Context) *Failure {
	ip := d.target.Addr // looked up once for all dialogues (all_addresses, mx): no resolve phase here
	if !ip.IsValid() {
		start := time.Now()
		var err error
		ip, err = newResolver(d.mod).pick(ctx, d.target.Host, d.mod)
		d.timed(PhaseResolve, start)
		if err != nil {
			return fail(PhaseResolve, err)
		}
	}
	if !d.mod.Allowed.Allows(d.target.Host, ip) {
		return failWith(PhaseResolve, ReasonForbidden, 0, fmt.Errorf("%w: %s resolves to %s", ErrTargetForbidden, d.target.Host, ip))
	}
	d.res.IPProtocol = 6
	if ip.Is4() {
		d.res.IPProtocol = 4
	}
	addr := netip.AddrPortFrom(ip, uint16(d.target.Port)).String()
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

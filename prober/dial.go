package prober

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// connect resolves and dials t, recording the resolve and connect phases.
func (d *dialogue) connect(ctx context.Context) *Failure {
	ip := d.target.Addr // looked up once for all dialogues (all_addresses, mx): no resolve phase here
	if !ip.IsValid() {
		start := d.begin(PhaseResolve)
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
	source := sourceAddr(d.mod)
	if source.IsValid() {
		Log(d.logger, slog.LevelDebug, "connecting", slog.String("address", addr), slog.String("source", source.String()))
	} else {
		Log(d.logger, slog.LevelDebug, "connecting", slog.String("address", addr))
	}
	if source.IsValid() && source.Is4() != ip.Is4() {
		return failWith(PhaseConnect, ReasonUnreachable, 0, fmt.Errorf("source_ip_address %s cannot reach %s: another address family", source, ip))
	}
	d.res.Source = source
	d.addr = ip

	start := d.begin(PhaseConnect)
	c, err := dialTCP(ctx, addr, source)
	d.timed(PhaseConnect, start)
	if err != nil {
		return fail(PhaseConnect, err)
	}
	d.res.Reachable = true
	d.stopDeadline = bindDeadline(ctx, c)
	d.c = newConn(c, d.logger)
	return nil
}

// ErrNoConnSlot is a dial that waited for a free connection slot
// (--probe.max-connections) until the probe's deadline. It classifies as a
// timeout at phase connect.
var ErrNoConnSlot = errors.New("no free connection slot before the deadline")

// dialTCP is every TCP connection a probe makes (SMTP dialogues, the
// MTA-STS policy fetch, the OAuth2 token request): it takes a slot of the
// run's ConnLimiter first, counts the dial for Run, and gives the slot back
// when the connection closes. A valid source is the local address to dial from.
func dialTCP(ctx context.Context, addr string, source netip.Addr) (net.Conn, error) {
	env := envOf(ctx)
	if err := env.Conns.acquire(ctx); err != nil {
		return nil, err
	}
	env.dials.Add(1)
	dialer := &net.Dialer{}
	if source.IsValid() {
		dialer.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(source, 0))
	}
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		env.Conns.release()
		var se *os.SyscallError
		if source.IsValid() && errors.As(err, &se) && se.Syscall == "bind" {
			err = fmt.Errorf("source_ip_address %s: cannot bind to it (not an address of this machine?): %w", source, err)
		}
		return nil, err
	}
	return &slotConn{Conn: c, release: env.Conns.release}, nil
}

// sourceAddr is the module's source_ip_address (validated at load), the
// zero Addr when it has none.
func sourceAddr(m config.Module) netip.Addr {
	ip, err := netip.ParseAddr(m.SourceIPAddress)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// slotConn gives its slot back on the first Close (TLS and HTTP close the
// connection under them, a dialogue closes it on every path, panics included).
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// ConnLimiter bounds the TCP connections all probes together hold at once
// (--probe.max-connections): --probe.max-concurrent bounds probes, but one
// mx probe with all_addresses opens up to 161. A dial waits for a free slot,
// until its probe's deadline. DNS queries are not counted: a dialogue waits
// for its TLSA answer while holding its connection, so one shared bound
// could deadlock until the deadlines; each query is short and has its own
// timeout. The methods are safe on a nil *ConnLimiter: no bound, no counts.
type ConnLimiter struct {
	slots chan struct{} // nil: no bound, only counts
	open  atomic.Int64
	// Dials that found every slot taken, by how their wait ended.
	waitAcquired, waitDeadline atomic.Uint64
}

// NewConnLimiter allows n connections at once; n <= 0 counts them without a bound.
func NewConnLimiter(n int) *ConnLimiter {
	l := &ConnLimiter{}
	if n > 0 {
		l.slots = make(chan struct{}, n)
	}
	return l
}

// Limit is the bound, 0 for none.
func (l *ConnLimiter) Limit() int {
	if l == nil {
		return 0
	}
	return cap(l.slots)
}

// Open is the number of connections open (or being dialled) now.
func (l *ConnLimiter) Open() int64 {
	if l == nil {
		return 0
	}
	return l.open.Load()
}

// Waits counts the dials that had to wait for a slot: those that got one,
// and those whose probe's deadline (or cancellation) came first.
func (l *ConnLimiter) Waits() (acquired, deadline uint64) {
	if l == nil {
		return 0, 0
	}
	return l.waitAcquired.Load(), l.waitDeadline.Load()
}

// acquire takes a slot, waiting while none is free, until ctx ends.
func (l *ConnLimiter) acquire(ctx context.Context) error {
	if err := expired(ctx); err != nil {
		return err // a probe past its deadline dials nothing
	}
	if l == nil {
		return nil
	}
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		default:
			if err := l.wait(ctx); err != nil {
				return err
			}
		}
	}
	l.open.Add(1)
	return nil
}

// wait blocks for a slot. One freed at the deadline (the holders' reads
// time out then) is handed back: the wait ended with the deadline.
func (l *ConnLimiter) wait(ctx context.Context) error {
	var err error
	select {
	case l.slots <- struct{}{}:
		if err = expired(ctx); err == nil {
			l.waitAcquired.Add(1)
			return nil
		}
		<-l.slots
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.waitDeadline.Add(1)
	return fmt.Errorf("%w (--probe.max-connections=%d): %w", ErrNoConnSlot, cap(l.slots), err)
}

// expired is ctx's error, or DeadlineExceeded once its deadline has passed
// even if its timer has not fired yet.
func expired(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func (l *ConnLimiter) release() {
	if l == nil {
		return
	}
	l.open.Add(-1)
	if l.slots != nil {
		<-l.slots
	}
}

package prober

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// tarpitCounter holds every connection it accepts silently until the client
// closes it, and counts them at the server's side: open now, most at once, all.
type tarpitCounter struct{ open, max, total atomic.Int64 }

func (c *tarpitCounter) serve(ln net.Listener) {
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.total.Add(1)
			n := c.open.Add(1)
			for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
			}
			go func() {
				_, _ = io.Copy(io.Discard, conn) // until the client closes
				c.open.Add(-1)
				conn.Close()
			}()
		}
	}()
}

// tarpitDomain is example.test with three MX hosts of four addresses each
// and an MTA-STS policy host, every one a tarpit: one mx probe with
// all_addresses dials 13 connections and holds each until its deadline.
func tarpitDomain(t *testing.T, c *tarpitCounter) config.Module {
	var addrs []string
	for i := 1; i <= 12; i++ {
		addrs = append(addrs, fmt.Sprintf("127.0.25.%d", i))
	}
	n := newLoopnet(t, addrs...)
	for a, ln := range n.hosts {
		c.serve(ln)
		delete(n.hosts, a)
		host := fmt.Sprintf("mx%d.example.test", (netip.MustParseAddr(a).As4()[3]-1)/4+1)
		n.dns.Add(t, host+". 300 IN A "+a)
	}
	policy, err := net.Listen("tcp", "127.0.25.50:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { policy.Close() })
	c.serve(policy)
	n.dns.Add(t, "example.test. 300 IN MX 10 mx1.example.test.", "example.test. 300 IN MX 20 mx2.example.test.",
		"example.test. 300 IN MX 30 mx3.example.test.",
		`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=1"`, "mta-sts.example.test. 300 IN A 127.0.25.50")
	m := n.module("mx")
	m.AllAddresses = true
	m.MX.MTASTS = true
	m.MX.MTASTSPort = policy.Addr().(*net.TCPAddr).Port
	return m
}

// TestConnBoundHeldUnderFanOut: four mx probes with all_addresses and
// MTA-STS (52 dials) against tarpits under a bound of 5 connections. The
// servers never see more than 5 at once, the probes end by their deadline,
// and the dialogues that never got a slot fail at connect with a timeout.
func TestConnBoundHeldUnderFanOut(t *testing.T) {
	const bound, probes = 5, 4
	var c tarpitCounter
	m := tarpitDomain(t, &c)
	conns := NewConnLimiter(bound)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()

	results := make([]*Result, probes)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i] = Run(ctx, Probe, Target{Host: "example.test"}, m, testLogger(t), RunOptions{Conns: conns})
		})
	}
	wg.Wait()
	if dl, _ := ctx.Deadline(); time.Since(dl) > time.Second {
		t.Errorf("probes returned %s after their deadline", time.Since(dl))
	}
	if got := c.max.Load(); got > bound || got == 0 {
		t.Errorf("servers saw %d connections open at once, want 1-%d", got, bound)
	}
	if got := c.total.Load(); got > bound {
		t.Errorf("servers accepted %d connections, want at most %d: no slot frees before the deadline", got, bound)
	}

	waited := 0
	for _, res := range results {
		if len(res.MX.Hosts) != 3 {
			t.Fatalf("MX hosts %+v, failure %v", res.MX.Hosts, res.Failure)
		}
		for _, h := range res.MX.Hosts {
			if len(h.Result.Addresses) != 4 {
				t.Fatalf("%s: %d addresses, failure %v", h.Name, len(h.Result.Addresses), h.Result.Failure)
			}
			for _, a := range h.Result.Addresses {
				f := a.Result.Failure
				switch {
				case f == nil || f.Reason != ReasonTimeout:
					t.Errorf("%s %s: failure %v, want a timeout", h.Name, a.Addr, f)
				case errors.Is(f.Err, ErrNoConnSlot):
					waited++
					if f.Phase != PhaseConnect || a.Result.Reachable {
						t.Errorf("%s %s: no slot, but failure %v, reachable %v", h.Name, a.Addr, f, a.Result.Reachable)
					}
				}
			}
		}
	}
	if waited < probes*12-bound {
		t.Errorf("%d dialogues failed waiting for a slot, want at least %d", waited, probes*12-bound)
	}
	if _, deadline := conns.Waits(); deadline < uint64(waited) {
		t.Errorf("waits{deadline} = %d, want at least %d", deadline, waited)
	}
	waitFor(t, "every slot back", func() bool { return conns.Open() == 0 && c.open.Load() == 0 })
}

// waitFor polls cond for a few seconds: a connection's close reaches the server a little later.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 300 {
			t.Fatalf("%s: not after 3s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnSlotReleasedOnEveryPath: a slot comes back after a refused dial,
// a closed dialogue and a panic inside a dialogue.
func TestConnSlotReleasedOnEveryPath(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1", "127.0.25.2")
	n.serve(t, n.cert(t, "mx1.example.test"), "127.0.25.1")
	n.closeUnserved() // 127.0.25.2 refuses
	conns := NewConnLimiter(1)
	m := n.module("starttls")
	opts := RunOptions{Conns: conns}
	for _, addr := range []string{"127.0.25.1", "127.0.25.2", "127.0.25.1"} {
		run(t, func(ctx context.Context, tg Target, m config.Module, l *slog.Logger) *Result {
			return Run(ctx, Probe, tg, m, l, opts)
		}, Target{Host: addr, Port: n.port}, m)
		if conns.Open() != 0 {
			t.Fatalf("after %s: %d connections still counted open", addr, conns.Open())
		}
	}
	res := run(t, func(ctx context.Context, tg Target, m config.Module, l *slog.Logger) *Result {
		return Run(ctx, func(ctx context.Context, tg Target, m config.Module, l *slog.Logger) *Result {
			d := newDialogue(tg, m, config.StartTLS, l)
			return d.run(ctx, []step{(*dialogue).greeting, func(d *dialogue, _ context.Context) *Failure {
				d.begin(PhaseEHLO)
				panic("boom")
			}})
		}, tg, m, l, opts)
	}, Target{Host: "127.0.25.1", Port: n.port}, m)
	wantFailure(t, res, PhaseEHLO, ReasonInternal, 0)
	if res.GreetingCode != 220 || res.Dials != 1 || conns.Open() != 0 {
		t.Errorf("greeting %d, dials %d, open %d: want the dialogue's observations kept and its slot back", res.GreetingCode, res.Dials, conns.Open())
	}
}

// TestPanicInFanOutGoroutine: a panic in one address's goroutine (all_addresses)
// or one MX host's fails that address or host only, at the phase of the step
// running, with reason internal; the runner hears of it; the process lives on.
func TestPanicInFanOutGoroutine(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	n.dns.Add(t, "mx.example.test. 300 IN A 127.0.25.1", "mx.example.test. 300 IN A 127.0.25.2")
	panicky := func(_ context.Context, tg Target, _ config.Module, _ *slog.Logger) *Result {
		if tg.Addr.String() == "127.0.25.2" || tg.Host == "bad.example.test" {
			panic(fmt.Sprintf("forced panic for %s", tg))
		}
		return &Result{}
	}
	var mu sync.Mutex
	var heard []*PanicError
	opts := RunOptions{OnPanic: func(p *PanicError) { mu.Lock(); heard = append(heard, p); mu.Unlock() }}

	m := n.module("starttls")
	m.AllAddresses = true
	res := run(t, func(ctx context.Context, tg Target, m config.Module, l *slog.Logger) *Result {
		return Run(ctx, func(ctx context.Context, tg Target, m config.Module, l *slog.Logger) *Result {
			return probeAllAddresses(ctx, tg, m, l, panicky)
		}, tg, m, l, opts)
	}, Target{Host: "mx.example.test", Port: n.port}, m)
	wantSuccess(t, address(t, res, "127.0.25.1"))
	wantFailure(t, address(t, res, "127.0.25.2"), PhaseConnect, ReasonInternal, 0)

	hosts := []MXHost{{Name: "good.example.test"}, {Name: "bad.example.test"}}
	run(t, func(ctx context.Context, tg Target, m config.Module, l *slog.Logger) *Result {
		return Run(ctx, func(ctx context.Context, _ Target, m config.Module, l *slog.Logger) *Result {
			probeMXHosts(ctx, hosts, m, l, panicky)
			return &Result{}
		}, tg, m, l, opts)
	}, Target{Host: "example.test"}, n.module("mx"))
	wantSuccess(t, hosts[0].Result)
	wantFailure(t, hosts[1].Result, PhaseResolve, ReasonInternal, 0)

	if len(heard) != 2 {
		t.Fatalf("runner heard of %d panics, want 2", len(heard))
	}
	for _, p := range heard {
		if !strings.Contains(fmt.Sprint(p.Value), "forced panic") || !strings.Contains(string(p.Stack), "limits_test.go") {
			t.Errorf("panic %v with a stack not showing where it happened:\n%s", p.Value, p.Stack)
		}
	}
}

// TestRunCountsDials: MX hosts outside allowed_targets are not dialled, the
// MTA-STS policy host inside is: the Result says one connection was made.
func TestRunCountsDials(t *testing.T) {
	n, port := stsNet(t, "version: STSv1\nmode: testing\nmx: mx1.example.test\nmax_age: 86400\n")
	m := stsModule(n, port)
	cfg, err := config.Parse([]byte("allowed_targets: [mta-sts.example.test]\nmodules: {x: {prober: tcp}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m.Allowed = cfg.Modules["x"].Allowed
	res := run(t, func(ctx context.Context, tg Target, m config.Module, l *slog.Logger) *Result {
		return Run(ctx, Probe, tg, m, l, RunOptions{})
	}, Target{Host: "example.test"}, m)
	if res.MX.MTASTS == nil || res.Dials != 1 {
		t.Errorf("policy %+v, dials %d: want the policy fetched, one dial", res.MX.MTASTS, res.Dials)
	}
	for _, h := range res.MX.Hosts {
		wantFailure(t, h.Result, PhaseResolve, ReasonForbidden, 0)
	}
}

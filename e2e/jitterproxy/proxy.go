package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// proxy relays connections; every goroutine it starts ends with ctx.
type proxy struct {
	cfg    config
	jitter *jitter
	stats  stats
	slots  chan struct{} // bounds the connections relayed at once
	logger *slog.Logger
}

// run listens on every route until the lifetime ends or ctx is cancelled,
// then closes the listeners and every connection and returns.
func run(ctx context.Context, cfg config, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.lifetime)
	defer cancel()
	p := &proxy{cfg: cfg, jitter: newJitter(cfg.delay, cfg.seed), slots: make(chan struct{}, cfg.maxConns), logger: logger}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for _, r := range cfg.routes {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", r.listen)
		if err != nil {
			return err
		}
		lns = append(lns, ln)
	}
	logger.Info("relaying", "routes", cfg.routes.String(), "delay", cfg.delay.max, "stall_probability", cfg.delay.stallProbability,
		"stall_min", cfg.delay.stallMin, "stall_max", cfg.delay.stallMax, "lifetime", cfg.lifetime, "seed", cfg.seed)
	var wg sync.WaitGroup
	for i, ln := range lns {
		wg.Go(func() { p.serve(ctx, &wg, ln, cfg.routes[i].upstream) })
	}
	p.writeStats(ctx)
	for _, ln := range lns {
		_ = ln.Close() // unblocks Accept
	}
	wg.Wait()
	logger.Info("stopped", "stats", p.stats.snapshot())
	return p.stats.write(cfg.statsPath)
}

// writeStats writes the counters every second until ctx ends.
func (p *proxy) writeStats(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := p.stats.write(p.cfg.statsPath); err != nil {
			p.logger.Warn("writing stats", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *proxy) serve(ctx context.Context, wg *sync.WaitGroup, ln net.Listener, upstream string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				p.logger.Warn("accept", "err", err)
			}
			return
		}
		select {
		case p.slots <- struct{}{}:
		default:
			p.stats.rejected.Add(1)
			_ = c.Close()
			continue
		}
		p.stats.connections.Add(1)
		wg.Go(func() {
			defer func() { <-p.slots }()
			p.relay(ctx, c, upstream)
		})
	}
}

// relay joins one client to a new upstream connection, both directions
// delayed, until both sides have finished or ctx ends.
func (p *proxy) relay(ctx context.Context, client net.Conn, upstream string) {
	defer client.Close()
	d := net.Dialer{Timeout: 5 * time.Second}
	server, err := d.DialContext(ctx, "tcp", upstream)
	if err != nil {
		p.logger.Warn("dial upstream", "upstream", upstream, "err", err)
		return
	}
	defer server.Close()
	stop := context.AfterFunc(ctx, func() { _ = client.Close(); _ = server.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { p.pump(ctx, server, client) })
	wg.Go(func() { p.pump(ctx, client, server) })
	wg.Wait()
}

// pump copies src to dst one chunk at a time, holding each chunk for the
// jitter's delay: chunks keep their order, and what arrives meanwhile waits
// in the socket buffer. At src's end it half-closes dst, so the other
// direction can still finish (the server's 221 after the client's QUIT);
// any other error closes both, so the other pump does not wait for its
// idle timeout.
func (p *proxy) pump(ctx context.Context, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		_ = src.SetReadDeadline(time.Now().Add(p.cfg.idle))
		n, err := src.Read(buf)
		if n > 0 {
			delay, stall := p.jitter.next()
			if !sleep(ctx, delay) {
				return
			}
			p.stats.addDelay(delay, stall)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
			p.stats.bytes.Add(int64(n))
		}
		if errors.Is(err, io.EOF) {
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
		if err != nil {
			_ = src.Close()
			_ = dst.Close()
			return
		}
	}
}

// sleep waits d unless ctx ends first (then false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

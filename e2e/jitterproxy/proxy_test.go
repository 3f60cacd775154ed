package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smtpLike is a loopback server that speaks first, answers each line with
// "250 " and the line, and after QUIT answers 221 and closes.
func smtpLike(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.WriteString(c, "220 ready\r\n")
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.TrimSpace(line) == "QUIT" {
						_, _ = io.WriteString(c, "221 bye\r\n")
						return
					}
					_, _ = io.WriteString(c, "250 "+line)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// freeAddr is a loopback address nothing listens on (for the proxy).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// running is a proxy started by startProxy.
type running struct {
	addr, stats string
	stopped     chan struct{} // closed when run has returned
	err         error         // run's result, once stopped
}

// startProxy runs the proxy in the background in front of smtpLike.
func startProxy(t *testing.T, cfg config) *running {
	t.Helper()
	listen := freeAddr(t)
	cfg.routes = routes{{listen: listen, upstream: smtpLike(t)}}
	if cfg.lifetime == 0 {
		cfg.lifetime = 30 * time.Second
	}
	cfg.idle, cfg.maxConns, cfg.seed = 10*time.Second, 8, 1
	cfg.statsPath = filepath.Join(t.TempDir(), "stats.json")
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{addr: listen, stats: cfg.statsPath, stopped: make(chan struct{})}
	go func() {
		r.err = run(ctx, cfg, slog.New(slog.DiscardHandler))
		close(r.stopped)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.stopped:
		case <-time.After(10 * time.Second):
			t.Error("proxy did not stop within 10s of its cancellation")
		}
	})
	for i := 0; i < 100; i++ { // bounded: the listener comes up at once
		if c, err := net.Dial("tcp", listen); err == nil {
			_ = c.Close()
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("proxy does not listen")
	return nil
}

// dialogue runs greeting, two commands and QUIT through the proxy and
// returns what the client read.
func dialogue(t *testing.T, addr string, halfClose bool) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var got strings.Builder
	for _, cmd := range []string{"", "EHLO probe\r\n", "NOOP\r\n"} {
		if _, err := io.WriteString(c, cmd); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v (read so far %q)", cmd, err, got.String())
		}
		got.WriteString(line)
	}
	_, _ = io.WriteString(c, "QUIT\r\n")
	if halfClose {
		_ = c.(*net.TCPConn).CloseWrite() // the reply must still come back
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return got.String() + string(rest)
}

func readStats(t *testing.T, path string) statsJSON {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s statsJSON
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

const want = "220 ready\r\n250 EHLO probe\r\n250 NOOP\r\n221 bye\r\n"

func TestRelaysInOrderWithBoundedDelays(t *testing.T) {
	cfg := config{delay: jitterConfig{max: 5 * time.Millisecond}}
	p := startProxy(t, cfg)
	for _, half := range []bool{false, true} {
		if got := dialogue(t, p.addr, half); got != want {
			t.Errorf("half-close %v: client read %q, want %q", half, got, want)
		}
	}
}

func TestStallsAreDrawnInTheirRange(t *testing.T) {
	j := newJitter(jitterConfig{max: time.Millisecond, stallProbability: 1, stallMin: 10 * time.Millisecond, stallMax: 20 * time.Millisecond}, 7)
	var st stats
	for i := 0; i < 1000; i++ {
		d, stall := j.next()
		if !stall || d < 10*time.Millisecond || d > 20*time.Millisecond {
			t.Fatalf("draw %d: %v stall=%v, want a stall in [10ms, 20ms]", i, d, stall)
		}
		st.addDelay(d, stall)
	}
	s := st.snapshot()
	if s.Chunks != 1000 || s.Stalls != 1000 || s.DelayMaxSeconds > 0.020 || s.DelayTotalSeconds < 10 {
		t.Errorf("stats %+v, want 1000 chunks, 1000 stalls, max <= 20ms, total >= 10s", s)
	}
	j = newJitter(jitterConfig{max: 3 * time.Millisecond}, 7)
	for i := 0; i < 1000; i++ {
		if d, stall := j.next(); stall || d < 0 || d > 3*time.Millisecond {
			t.Fatalf("draw %d: %v stall=%v, want a delay in [0, 3ms] and no stall", i, d, stall)
		}
	}
}

func TestStopsByItselfAndWritesStats(t *testing.T) {
	cfg := config{delay: jitterConfig{max: time.Millisecond}, lifetime: 2 * time.Second}
	p := startProxy(t, cfg)
	if got := dialogue(t, p.addr, false); got != want {
		t.Fatalf("client read %q, want %q", got, want)
	}
	idle, err := net.Dial("tcp", p.addr) // open when the lifetime ends: closed by the proxy
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	select {
	case <-p.stopped:
		if p.err != nil {
			t.Fatal(p.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("proxy still running 15s after a 2s lifetime")
	}
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for {
		if _, err := idle.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("a connection left open by the stopped proxy")
			}
			break
		}
	}
	s := readStats(t, p.stats)
	// Three connections: startProxy's readiness check, the dialogue, idle.
	if s.Connections != 3 || s.Chunks < 8 || s.DelayMaxSeconds > 0.001 {
		t.Errorf("stats %+v: want 3 connections, at least 8 chunks, no delay over 1ms", s)
	}
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-route", "127.0.0.1:1=127.0.0.1:2", "-delay", "150ms", "-stall-probability", "0.01", "-lifetime", "3m"})
	if err != nil || len(cfg.routes) != 1 || cfg.routes[0].upstream != "127.0.0.1:2" || cfg.delay.max != 150*time.Millisecond {
		t.Fatalf("parseFlags: %+v, %v", cfg, err)
	}
	for _, bad := range [][]string{
		{},
		{"-route", "127.0.0.1:1"},
		{"-route", "a=b", "-stall-probability", "2"},
		{"-route", "a=b", "-stall-min", "2s", "-stall-max", "1s"},
		{"-route", "a=b", "-lifetime", "0s"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

package web

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// countingListener accepts on loopback and counts connections, holding each open silently.
func countingListener(t *testing.T) (port int, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() { _, _ = c.Read(make([]byte, 1)); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

func TestAllowedTargets(t *testing.T) {
	port, accepted := countingListener(t)
	s := newTestServer(t, `allowed_targets: ["127.0.0.2/32", "*.allowed.test"]
modules:
  tcp:
    prober: tcp
    timeout: 1s
`)
	for _, target := range []string{
		fmt.Sprintf("127.0.0.1:%d", port),
		fmt.Sprintf("localhost:%d", port), // a name that resolves into a forbidden network
	} {
		code, body, _ := s.get(t, "/probe?module=tcp&target="+target)
		if code != http.StatusForbidden || !strings.Contains(body, "allowed_targets") {
			t.Errorf("%s: %d %q, want 403 naming allowed_targets", target, code, body)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("forbidden targets made %d connections, want 0", n)
	}
	if got := testutil.ToFloat64(s.h.Metrics.rejected.WithLabelValues("target_forbidden")); got != 2 {
		t.Errorf("rejected{target_forbidden} = %v, want 2", got)
	}

	s = newTestServer(t, `allowed_targets: ["127.0.0.0/8"]
modules:
  tcp:
    prober: tcp
    timeout: 300ms
`)
	code, body, _ := s.get(t, fmt.Sprintf("/probe?module=tcp&target=127.0.0.1:%d", port))
	if code != http.StatusOK || !strings.Contains(body, "probe_smtp_reachable 1") {
		t.Errorf("allowed target: %d\n%s", code, body)
	}
}

func TestMaxConcurrentAnswers503AtOnce(t *testing.T) {
	port, accepted := countingListener(t)
	s := newTestServer(t, "modules:\n  tcp:\n    prober: tcp\n    timeout: 2s\n")
	s.h.Limiter = NewLimiter(1)

	first := make(chan int, 1)
	go func() {
		code, _, _ := s.get(t, fmt.Sprintf("/probe?module=tcp&target=127.0.0.1:%d", port))
		first <- code
	}()
	for i := 0; accepted.Load() == 0; i++ {
		if i > 200 {
			t.Fatal("first probe never connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	code, body, _ := s.get(t, fmt.Sprintf("/probe?module=tcp&target=127.0.0.1:%d", port))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "max-concurrent") {
		t.Errorf("second probe: %d %q, want 503", code, body)
	}
	if time.Since(start) > time.Second {
		t.Errorf("503 took %s: it must not wait for a slot", time.Since(start))
	}
	if got := testutil.ToFloat64(s.h.Metrics.rejected.WithLabelValues("concurrency_limit")); got != 1 {
		t.Errorf("rejected{concurrency_limit} = %v, want 1", got)
	}
	if c := <-first; c != http.StatusOK {
		t.Errorf("first probe: %d", c)
	}
	// The slot is free again.
	if code, _, _ := s.get(t, fmt.Sprintf("/probe?module=tcp&target=127.0.0.1:%d", refusedPort(t))); code != http.StatusOK {
		t.Errorf("probe after the slot freed: %d", code)
	}
}

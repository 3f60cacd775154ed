package prober

import (
	"context"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	return len(entries)
}

// TestTarpitNoLeak: many concurrent probes of servers that stay silent or
// drip-feed all end by their deadline, and leave no goroutine or file
// descriptor behind. (How fast and how much memory is the benchmark's job.)
func TestTarpitNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const probes = 1000
	baseGoroutines, baseFDs := runtime.NumGoroutine(), openFDs(t)

	t.Run("probes", func(t *testing.T) {
		silent := smtptest.NewHandlerServer(t, func(c *smtptest.Conn) { _, _ = io.Copy(io.Discard, c) })
		drip := smtptest.NewHandlerServer(t, func(c *smtptest.Conn) {
			for i := 0; i < 100; i++ {
				if _, err := c.Write([]byte("2")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
		m := module("starttls", "", 2*time.Second)
		var wg sync.WaitGroup
		var mu sync.Mutex
		late := 0
		for i := 0; i < probes; i++ {
			port := silent.Port
			if i%2 == 1 {
				port = drip.Port
			}
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(m.Timeout))
				defer cancel()
				res := Probe(ctx, Target{Host: "127.0.0.1", Port: port}, m, testLogger(t))
				mu.Lock()
				defer mu.Unlock()
				if res.Failure == nil || res.Failure.Reason != ReasonTimeout {
					t.Errorf("probe result %+v, want a timeout", res.Failure)
				}
				if ctx.Err() == nil {
					return
				}
				// The probe returned only after its deadline passed: allow a loaded machine some slack.
				if dl, _ := ctx.Deadline(); time.Since(dl) > 2*time.Second {
					late++
				}
			})
		}
		wg.Wait()
		if late > 0 {
			t.Errorf("%d probes returned more than 2s after their deadline", late)
		}
	})

	// Servers are closed by the subtest's cleanup; everything must be back to the baseline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, fds := runtime.NumGoroutine(), openFDs(t)
		if g <= baseGoroutines+2 && fds <= baseFDs+2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leak: goroutines %d (baseline %d), fds %d (baseline %d)", g, baseGoroutines, fds, baseFDs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

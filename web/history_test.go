package web

import (
	"fmt"
	"github.com/smtp-exporter/smtp_exporter/runner"
	"log/slog"
	"strings"
	"testing"
)

// fixedLog is a transcript of n bytes.
type fixedLog int

func (n fixedLog) String() string { return strings.Repeat("x", int(n)) }

// TestHistoryByteBound: beyond maxBytes the oldest successes go first, then
// the oldest failures; the count bound still holds.
func TestHistoryByteBound(t *testing.T) {
	ids := func(h *History) string {
		var s []string
		for _, p := range h.List() {
			s = append(s, fmt.Sprint(p.ID))
		}
		return strings.Join(s, ",")
	}
	add := func(h *History, size int, success ...bool) {
		for _, ok := range success {
			h.Add(&Probe{Success: ok, log: fixedLog(size)})
		}
	}
	t.Run("oldest success first", func(t *testing.T) {
		h := NewBoundedHistory(10, 1000)
		add(h, 300, false, true, true, true, true) // ids 0..4: 1500 bytes
		if got := ids(h); got != "4,3,0" {
			t.Errorf("kept %s, want 4,3,0 (the failure outlives older successes)", got)
		}
		if n := h.keptBytes(); n > 1000 {
			t.Errorf("kept %d bytes, bound 1000", n)
		}
	})
	t.Run("then oldest failure", func(t *testing.T) {
		h := NewBoundedHistory(10, 1000)
		add(h, 300, false, false, false, false) // ids 0..3
		if got := ids(h); got != "3,2,1" {
			t.Errorf("kept %s, want 3,2,1", got)
		}
		if h.Get(0) != nil {
			t.Error("the dropped failure is still found")
		}
	})
	t.Run("real transcripts", func(t *testing.T) {
		h := NewBoundedHistory(100, 256<<10)
		for i := range 20 {
			logger, tr := runner.NewProbeLogger(slog.New(slog.DiscardHandler), slog.LevelDebug, 64<<10)
			for range 100 {
				logger.Debug("S: 250-" + strings.Repeat("x", 2042))
			}
			h.Add(&Probe{Success: i%2 == 0, log: tr})
		}
		if n := h.keptBytes(); n > 256<<10 || len(h.List()) < 3 {
			t.Errorf("kept %d probes, %d bytes; bound 256 KiB of 64 KiB transcripts", len(h.List()), n)
		}
	})
}

// TestHistoryKeptBytes: the running count of kept bytes, which Add keeps
// instead of adding up the history on every probe, is what adding up the
// kept probes gives, whatever the mix of successes, failures and sizes.
func TestHistoryKeptBytes(t *testing.T) {
	h := NewBoundedHistory(7, 3000)
	for i := range 500 {
		h.Add(&Probe{Success: i%3 != 0 && i%7 != 1, log: fixedLog(i * 37 % 900)})
		want := 0
		for _, p := range h.recent {
			if p.Success {
				want += p.size
			}
		}
		for _, p := range h.failures {
			want += p.size
		}
		if got := h.keptBytes(); got != want || got > 3000 {
			t.Fatalf("after probe %d: %d bytes counted, %d kept (bound 3000)", i, got, want)
		}
	}
}

package collector

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Probe is one finished probe as the landing page and /logs show it.
type Probe struct {
	ID       int64
	Time     time.Time
	Module   string
	Target   string
	Success  bool
	Failure  string // "phase/reason", empty on success
	Duration time.Duration
	Phases   []string // one line per dialogue: "connect 1ms · greeting 3ms …" ("[587] …" for submission)
	log      fmt.Stringer
}

// Log is the probe's transcript, rendered on first use.
func (p *Probe) Log() string {
	if p.log == nil {
		return ""
	}
	return p.log.String()
}

// History keeps the last limit probes, and separately the last limit failed
// ones, so a failure stays visible after a burst of successes.
type History struct {
	mu       sync.Mutex
	limit    int
	nextID   int64
	recent   []*Probe
	failures []*Probe
}

// NewHistory keeps up to limit probes (0 keeps none).
func NewHistory(limit int) *History { return &History{limit: limit} }

// Add stores p and gives it its ID.
func (h *History) Add(p *Probe) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p.ID = h.nextID
	h.nextID++
	if h.limit <= 0 {
		return
	}
	h.recent = appendBounded(h.recent, p, h.limit)
	if !p.Success {
		h.failures = appendBounded(h.failures, p, h.limit)
	}
}

func appendBounded(s []*Probe, p *Probe, limit int) []*Probe {
	s = append(s, p)
	if len(s) > limit {
		s = slices.Delete(s, 0, len(s)-limit)
	}
	return s
}

// List returns the kept probes, newest first.
func (h *History) List() []*Probe {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.recent)
	for _, f := range h.failures {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b *Probe) int { return int(b.ID - a.ID) })
	return out
}

// Get finds a kept probe by ID.
func (h *History) Get(id int64) *Probe {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range [][]*Probe{h.recent, h.failures} {
		for _, p := range s {
			if p.ID == id {
				return p
			}
		}
	}
	return nil
}

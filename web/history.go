package web

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
	size     int // bytes the history counts for it, set by Add
}

// Log is the probe's transcript, rendered on first use.
func (p *Probe) Log() string {
	if p.log == nil {
		return ""
	}
	return p.log.String()
}

// DefaultHistoryMaxBytes bounds the transcripts the history keeps
// (--history.max-bytes): 2 × 100 probes of a 64 KiB transcript fit.
const DefaultHistoryMaxBytes = 16 << 20

// History keeps the last limit probes, and separately the last limit failed
// ones, so a failure stays visible after a burst of successes; and no more
// than maxBytes of their transcripts, dropping the oldest success first.
type History struct {
	mu       sync.Mutex
	limit    int
	maxBytes int
	nextID   int64
	recent   []*Probe
	failures []*Probe
	// kept is the bytes of the kept probes as the byte bound counts them:
	// each once, the successes in recent and every failure (a failure in
	// recent is also among the last limit failures).
	kept int
}

// NewHistory keeps up to limit probes (0 keeps none) within DefaultHistoryMaxBytes.
func NewHistory(limit int) *History { return NewBoundedHistory(limit, DefaultHistoryMaxBytes) }

// NewBoundedHistory keeps up to limit probes and maxBytes of their
// transcripts (DefaultHistoryMaxBytes when maxBytes <= 0).
func NewBoundedHistory(limit, maxBytes int) *History {
	if maxBytes <= 0 {
		maxBytes = DefaultHistoryMaxBytes
	}
	return &History{limit: limit, maxBytes: maxBytes}
}

// Add stores p and gives it its ID.
func (h *History) Add(p *Probe) {
	p.size = probeSize(p)
	h.mu.Lock()
	defer h.mu.Unlock()
	p.ID = h.nextID
	h.nextID++
	if h.limit <= 0 {
		return
	}
	var dropped *Probe
	if h.recent, dropped = appendBounded(h.recent, p, h.limit); dropped != nil && dropped.Success {
		h.kept -= dropped.size
	}
	if !p.Success {
		if h.failures, dropped = appendBounded(h.failures, p, h.limit); dropped != nil {
			h.kept -= dropped.size
		}
	}
	h.kept += p.size
	for h.kept > h.maxBytes {
		if !h.dropOldest() {
			break
		}
	}
}

// probeSize is what a kept probe holds beyond its fixed fields: the
// transcript and the phase lines (one a dialogue).
func probeSize(p *Probe) int {
	n := len(p.Target) + len(p.Failure)
	for _, l := range p.Phases {
		n += len(l)
	}
	if s, ok := p.log.(interface{ Size() int }); ok {
		n += s.Size()
	} else if p.log != nil {
		n += len(p.log.String())
	}
	return n
}

// dropOldest removes the oldest success, or when none is kept the oldest
// failure: failures are what the history keeps longest.
func (h *History) dropOldest() bool {
	for i, p := range h.recent {
		if p.Success {
			h.recent = slices.Delete(h.recent, i, i+1)
			h.kept -= p.size
			return true
		}
	}
	if len(h.failures) == 0 {
		return false
	}
	oldest := h.failures[0]
	h.failures = slices.Delete(h.failures, 0, 1)
	h.recent = slices.DeleteFunc(h.recent, func(p *Probe) bool { return p == oldest })
	h.kept -= oldest.size
	return true
}

// keptBytes is the history's size as the byte bound counts it.
func (h *History) keptBytes() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.kept
}

// appendBounded appends p to s, dropping the oldest beyond limit (one at most).
func appendBounded(s []*Probe, p *Probe, limit int) (_ []*Probe, dropped *Probe) {
	s = append(s, p)
	if len(s) > limit {
		dropped = s[0]
		s = slices.Delete(s, 0, 1)
	}
	return s, dropped
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

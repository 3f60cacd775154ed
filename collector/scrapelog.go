package collector

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// probeLogHandler tees one probe's records: all of them, at debug, into a
// transcript for debug=true and /logs; and those the process logger wants,
// re-levelled to --log.prober, to stderr.
type probeLogHandler struct {
	tr      *transcript
	attrs   []slog.Attr // from WithAttrs, applied when the transcript is rendered
	process slog.Handler
	level   slog.Level
}

// transcript keeps records unformatted: most are never looked at, so the
// text is made only when debug=true or /logs asks for it. The submission
// prober's concurrent dialogues share one transcript.
type transcript struct {
	mu      sync.Mutex
	entries []transcriptEntry
	text    string
	done    bool
}

type transcriptEntry struct {
	attrs []slog.Attr
	rec   slog.Record
}

// newProbeLogger returns the probe's logger and the transcript its records go to.
func newProbeLogger(process *slog.Logger, level slog.Level) (*slog.Logger, *transcript) {
	tr := &transcript{entries: make([]transcriptEntry, 0, 48)} // a STARTTLS dialogue logs about 30 records
	return slog.New(&probeLogHandler{tr: tr, process: process.Handler(), level: level}), tr
}

func (h *probeLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *probeLogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.tr.mu.Lock()
	h.tr.entries = append(h.tr.entries, transcriptEntry{attrs: h.attrs, rec: r.Clone()})
	h.tr.mu.Unlock()
	if h.process.Enabled(ctx, h.level) {
		r2 := r.Clone()
		r2.Level = h.level
		return h.process.Handle(ctx, r2)
	}
	return nil
}

func (h *probeLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	all := append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &probeLogHandler{tr: h.tr, attrs: all, process: h.process.WithAttrs(attrs), level: h.level}
}

// WithGroup is not used by the probers; records keep their attributes ungrouped in the transcript.
func (h *probeLogHandler) WithGroup(name string) slog.Handler {
	return &probeLogHandler{tr: h.tr, attrs: h.attrs, process: h.process.WithGroup(name), level: h.level}
}

// String renders the transcript once, one line a record, made to be read:
//
//	18:01:58.575 DEBUG S: 250-STARTTLS port=587
//
// module and target are left out: the whole transcript is about one of each.
func (t *transcript) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return t.text
	}
	var b strings.Builder
	for _, e := range t.entries {
		fmt.Fprintf(&b, "%s %-5s %s", e.rec.Time.Format("15:04:05.000"), e.rec.Level, e.rec.Message)
		write := func(a slog.Attr) bool {
			if a.Key != "module" && a.Key != "target" {
				b.WriteString(" " + a.Key + "=" + quoteIfNeeded(a.Value.String()))
			}
			return true
		}
		for _, a := range e.attrs {
			write(a)
		}
		e.rec.Attrs(write)
		b.WriteByte('\n')
	}
	t.text, t.done, t.entries = b.String(), true, nil
	return t.text
}

func quoteIfNeeded(v string) string {
	if v == "" || strings.ContainsAny(v, " \"=\t\r\n") {
		return strconv.Quote(v)
	}
	return v
}

package runner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// DefaultTranscriptMaxBytes is what one probe's transcript may keep
// (--probe.transcript-max-bytes): a STARTTLS dialogue logs about 3 kB, a
// hostile server answering every command with 100 lines of 2 kB about 1 MB.
const DefaultTranscriptMaxBytes = 64 << 10

const (
	// dialogueShare: each dialogue of a probe with several (submission
	// ports, all_addresses, MX hosts) keeps at most 1/dialogueShare of the
	// probe's budget, so one chatty dialogue cannot crowd out the others.
	dialogueShare = 8
	// reserveShare: the last 1/reserveShare of the budget is kept for the
	// records at info and above (the probe's start and end, warnings): a
	// handful a probe, written by the exporter, not by the server.
	reserveShare = 16
	// entryBytes is what a kept record costs besides its text: the
	// transcriptEntry itself (time, level, three string headers).
	entryBytes = 80
)

// probeLogHandler tees one probe's records: all of them, at debug, into a
// transcript for debug=true and /logs; and those the process logger wants,
// re-levelled to --log.prober, to stderr.
type probeLogHandler struct {
	tr      *Transcript
	scope   string // the logger's own attributes as the transcript shows them: " port=587"
	dlg     *dialogueUse
	process slog.Handler
	level   slog.Level
}

// dialogueUse is what one dialogue's records take of the transcript.
// Every logger a prober derives with With is a dialogue (a port, an
// address, an MX host); the probe's own logger is one whose cap is the
// whole budget. Guarded by the transcript's mutex.
type dialogueUse struct {
	kept, max int
	stopped   bool // a record was dropped: the rest of its debug records are too
}

// Transcript keeps records as escaped strings, bounded in bytes: records
// beyond the budget are counted, not kept. The time and the line are put
// together only when debug=true or /logs asks. The concurrent dialogues of
// one probe share one transcript.
type Transcript struct {
	mu             sync.Mutex
	max            int
	entries        []transcriptEntry
	kept           int // bytes, as entrySize counts them
	droppedBytes   int
	droppedRecords int
	text           string
	done           bool
}

type transcriptEntry struct {
	time  time.Time
	level slog.Level
	msg   string
	scope string
	attrs string // the record's own attributes, rendered
}

// NewProbeLogger returns the probe's logger, with attrs for the process log
// only, and the transcript its records go to, keeping at most maxBytes
// (DefaultTranscriptMaxBytes when maxBytes <= 0).
func NewProbeLogger(process *slog.Logger, level slog.Level, maxBytes int, attrs ...any) (*slog.Logger, *Transcript) {
	if maxBytes <= 0 {
		maxBytes = DefaultTranscriptMaxBytes
	}
	tr := &Transcript{max: maxBytes, entries: make([]transcriptEntry, 0, 48)} // a STARTTLS dialogue logs about 30 records
	h := &probeLogHandler{tr: tr, dlg: &dialogueUse{max: maxBytes}, process: process.With(attrs...).Handler(), level: level}
	return slog.New(h), tr
}

func (h *probeLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *probeLogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.tr.add(h.dlg, h.scope, r)
	if !h.process.Enabled(ctx, h.level) {
		return nil
	}
	// Re-made with its text escaped: a JSON log leaves DEL and C1 controls as they are.
	r2 := slog.NewRecord(r.Time, h.level, prober.EscapeText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(escapeAttr(a)); return true })
	return h.process.Handle(ctx, r2)
}

// escapeAttr escapes a value that may carry a server's text (a string, an
// error); numbers and times stay typed.
func escapeAttr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindString, slog.KindAny, slog.KindGroup:
		return slog.String(a.Key, prober.EscapeText(a.Value.String()))
	}
	return a
}

// WithAttrs starts a dialogue: its own share of the budget, its attributes on each line.
func (h *probeLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.scope)
	for _, a := range attrs {
		writeAttr(&b, a)
	}
	escaped := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		escaped[i] = escapeAttr(a)
	}
	return &probeLogHandler{tr: h.tr, scope: b.String(), dlg: &dialogueUse{max: h.tr.max / dialogueShare},
		process: h.process.WithAttrs(escaped), level: h.level}
}

// WithGroup is not used by the probers; records keep their attributes ungrouped in the transcript.
func (h *probeLogHandler) WithGroup(name string) slog.Handler {
	return &probeLogHandler{tr: h.tr, scope: h.scope, dlg: h.dlg, process: h.process.WithGroup(name), level: h.level}
}

// add keeps r if the budget allows; its text is escaped here too, whatever
// the prober did: the transcript ends up on terminals.
func (t *Transcript) add(d *dialogueUse, scope string, r slog.Record) {
	e := transcriptEntry{time: r.Time, level: r.Level, msg: prober.EscapeText(r.Message), scope: scope}
	if r.NumAttrs() > 0 {
		var b strings.Builder
		r.Attrs(func(a slog.Attr) bool { writeAttr(&b, a); return true })
		e.attrs = b.String()
	}
	size := entryBytes + len(e.msg) + len(e.scope) + len(e.attrs)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done || !t.admit(d, size, r.Level) {
		t.droppedBytes += size
		t.droppedRecords++
		return
	}
	t.entries = append(t.entries, e)
}

// admit takes size bytes from the budget if they fit. A dialogue keeps a
// prefix of its debug records: once one is dropped, so are the rest.
func (t *Transcript) admit(d *dialogueUse, size int, level slog.Level) bool {
	if level >= slog.LevelInfo {
		if t.kept+size > t.max {
			return false
		}
	} else if d.stopped || d.kept+size > d.max || t.kept+size > t.max-t.max/reserveShare {
		d.stopped = true
		return false
	}
	d.kept += size
	t.kept += size
	return true
}

// writeAttr appends " key=value", the value escaped and quoted when needed.
// module and target are left out: a transcript is about one of each.
func writeAttr(b *strings.Builder, a slog.Attr) {
	if a.Key == "module" || a.Key == "target" {
		return
	}
	b.WriteString(" " + prober.EscapeText(a.Key) + "=" + quoteIfNeeded(prober.EscapeText(a.Value.Resolve().String())))
}

// Size is the bytes the transcript holds: at most its budget and the truncation line.
func (t *Transcript) Size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return len(t.text)
	}
	return t.kept + len(t.truncation())
}

// truncation is the line that says what the budget left out, empty if nothing.
func (t *Transcript) truncation() string {
	if t.droppedRecords == 0 {
		return ""
	}
	return fmt.Sprintf("… transcript truncated: %d bytes (%d records) more not kept (%d bytes a probe, %d a dialogue of several)\n",
		t.droppedBytes, t.droppedRecords, t.max, t.max/dialogueShare)
}

// String renders the transcript once, one line a record, made to be read:
//
//	18:01:58.575 DEBUG S: 250-STARTTLS port=587
func (t *Transcript) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return t.text
	}
	var b strings.Builder
	b.Grow(t.kept - len(t.entries)*(entryBytes-24) + 200)
	for _, e := range t.entries {
		fmt.Fprintf(&b, "%s %-5s %s%s%s\n", e.time.Format("15:04:05.000"), e.level, e.msg, e.scope, e.attrs)
	}
	b.WriteString(t.truncation())
	t.text, t.done, t.entries = b.String(), true, nil
	return t.text
}

// quoteIfNeeded quotes an escaped value that has spaces, quotes or "=";
// escaped text has no control characters left to quote.
func quoteIfNeeded(v string) string {
	if v == "" || strings.ContainsAny(v, " \"=") {
		return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
	}
	return v
}

// EscapeLines escapes each line of a text that is shown whole (debug=true's metrics).
func EscapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prober.EscapeText(l)
	}
	return strings.Join(lines, "\n")
}

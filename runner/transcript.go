package runner

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
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
	// initialTextBytes holds a STARTTLS dialogue's transcript (about 2 kB)
	// without growing.
	initialTextBytes = 4 << 10
)

// probeLogHandler tees one probe's records: all of them, at debug, into a
// transcript for debug=true and /logs; and those the process logger wants,
// re-levelled to --log.prober, to stderr.
type probeLogHandler struct {
	tr      *Transcript
	scope   string // the logger's own attributes as the transcript shows them: " port=587"
	dlg     *dialogueUse
	process *processLog
	level   slog.Level
}

// processLog is the process logger's handler with the probe's (or a
// dialogue's) attributes, made on first use: with the default flags no
// probe record reaches the process log, and a handler with attributes
// costs a few allocations to make.
type processLog struct {
	base slog.Handler // the process logger's own handler
	// enabled: the process log takes records at --log.prober's level, as
	// it did when the probe began (a process log level is set at start).
	enabled bool
	parent  *processLog // nil for the probe's own
	attrs   []slog.Attr
	group   string // WithGroup's name, in place of attrs
	once    sync.Once
	h       slog.Handler
}

func (p *processLog) handler() slog.Handler {
	p.once.Do(func() {
		p.h = p.base
		if p.parent != nil {
			p.h = p.parent.handler()
		}
		switch {
		case p.group != "":
			p.h = p.h.WithGroup(p.group)
		case len(p.attrs) > 0:
			p.h = p.h.WithAttrs(p.attrs)
		}
	})
	return p.h
}

// dialogueUse is what one dialogue's records take of the transcript.
// Every logger a prober derives with With is a dialogue (a port, an
// address, an MX host); the probe's own logger is one whose cap is the
// whole budget. Guarded by the transcript's mutex.
type dialogueUse struct {
	kept, max int
	stopped   bool // a record was dropped: the rest of its debug records are too
}

// Transcript keeps records as the lines /logs shows, escaped, in one
// buffer, bounded in bytes: records beyond the budget are counted, not
// kept. One buffer without pointers costs the garbage collector nothing to
// scan, however many probes the history keeps. The concurrent dialogues of
// one probe share one transcript.
type Transcript struct {
	mu             sync.Mutex
	max            int
	buf            *[]byte // the lines so far, from transcriptBuffers; nil once done
	droppedBytes   int
	droppedRecords int
	text           string
	done           bool
}

// transcriptBuffers are the buffers of transcripts being written; a
// finished transcript keeps its text in a string of its own size.
var transcriptBuffers = sync.Pool{New: func() any { b := make([]byte, 0, initialTextBytes); return &b }}

// maxPooledText: a larger buffer (a chatty server's) goes to the garbage collector.
const maxPooledText = 64 << 10

// NewProbeLogger returns the probe's logger, with attrs for the process log
// only, and the transcript its records go to, keeping at most maxBytes
// (DefaultTranscriptMaxBytes when maxBytes <= 0).
func NewProbeLogger(process *slog.Logger, level slog.Level, maxBytes int, attrs ...any) (*slog.Logger, *Transcript) {
	return newProbeLogger(process, level, maxBytes, attrsOf(attrs))
}

// probeLog is what a probe's logger is made of, in one allocation.
type probeLog struct {
	logger  slog.Logger
	handler probeLogHandler
	tr      Transcript
	dlg     dialogueUse
	process processLog
}

func newProbeLogger(process *slog.Logger, level slog.Level, maxBytes int, attrs []slog.Attr) (*slog.Logger, *Transcript) {
	if maxBytes <= 0 {
		maxBytes = DefaultTranscriptMaxBytes
	}
	p := &probeLog{tr: Transcript{max: maxBytes, buf: transcriptBuffers.Get().(*[]byte)}, dlg: dialogueUse{max: maxBytes},
		process: processLog{base: process.Handler(), enabled: process.Enabled(context.Background(), level), attrs: attrs}}
	p.handler = probeLogHandler{tr: &p.tr, dlg: &p.dlg, process: &p.process, level: level}
	p.logger = *slog.New(&p.handler)
	return &p.logger, &p.tr
}

// attrsOf turns key-value pairs into attributes as slog.Logger.With does.
func attrsOf(args []any) []slog.Attr {
	var r slog.Record
	r.Add(args...)
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	return attrs
}

func (h *probeLogHandler) Enabled(context.Context, slog.Level) bool { return true }

// NeedsSource: only a record that reaches the process log shows where it
// was logged (the transcript does not), so the prober looks its caller up
// only then (prober.Log).
func (h *probeLogHandler) NeedsSource(context.Context, slog.Level) bool {
	return h.process.enabled
}

func (h *probeLogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.tr.add(h.dlg, h.scope, r)
	if !h.process.enabled {
		return nil
	}
	// Re-made with its text escaped: a JSON log leaves DEL and C1 controls as they are.
	r2 := slog.NewRecord(r.Time, h.level, prober.EscapeText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(escapeAttr(a)); return true })
	return h.process.handler().Handle(ctx, r2)
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
	var b []byte
	for _, a := range attrs {
		b = appendAttr(b, a)
	}
	escaped := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		escaped[i] = escapeAttr(a)
	}
	return &probeLogHandler{tr: h.tr, scope: h.scope + string(b), dlg: &dialogueUse{max: h.tr.max / dialogueShare},
		process: &processLog{base: h.process.base, enabled: h.process.enabled, parent: h.process, attrs: escaped}, level: h.level}
}

// WithGroup is not used by the probers; records keep their attributes ungrouped in the transcript.
func (h *probeLogHandler) WithGroup(name string) slog.Handler {
	return &probeLogHandler{tr: h.tr, scope: h.scope, dlg: h.dlg,
		process: &processLog{base: h.process.base, enabled: h.process.enabled, parent: h.process, group: name}, level: h.level}
}

// add renders r as a line of the transcript if the budget allows; its text
// is escaped here too, whatever the prober did: the transcript ends up on
// terminals. The line is
//
//	18:01:58.575 DEBUG S: 250-STARTTLS port=587
func (t *Transcript) add(d *dialogueUse, scope string, r slog.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done { // String was called: the text is final
		return
	}
	b := *t.buf
	start := len(b)
	b = appendClock(b, r.Time)
	b = append(b, ' ')
	level := r.Level.String()
	b = append(b, level...)
	b = append(b, "     "[min(len(level), 5):]...)
	b = append(b, ' ')
	b = append(b, prober.EscapeText(r.Message)...)
	b = append(b, scope...)
	r.Attrs(func(a slog.Attr) bool { b = appendAttr(b, a); return true })
	b = append(b, '\n')
	if size := len(b) - start; !t.admit(d, start, size, r.Level) {
		b = b[:start]
		t.droppedBytes += size
		t.droppedRecords++
	}
	*t.buf = b
}

// admit takes size bytes from the budget, of which kept are taken, if they
// fit. A dialogue keeps a prefix of its debug records: once one is
// dropped, so are the rest.
func (t *Transcript) admit(d *dialogueUse, kept, size int, level slog.Level) bool {
	if level >= slog.LevelInfo {
		if kept+size > t.max {
			return false
		}
	} else if d.stopped || d.kept+size > d.max || kept+size > t.max-t.max/reserveShare {
		d.stopped = true
		return false
	}
	d.kept += size
	return true
}

// appendClock appends t's wall clock as "15:04:05.000" (t.Format's layout,
// without parsing it for every line).
func appendClock(b []byte, t time.Time) []byte {
	h, m, s := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// appendAttr appends " key=value", the value escaped and quoted when needed.
// module and target are left out: a transcript is about one of each.
func appendAttr(b []byte, a slog.Attr) []byte {
	if a.Key == "module" || a.Key == "target" {
		return b
	}
	b = append(append(append(b, ' '), prober.EscapeText(a.Key)...), '=')
	v := a.Value.Resolve()
	if v.Kind() == slog.KindInt64 { // the common number (codes, counts) without a string
		return strconv.AppendInt(b, v.Int64(), 10)
	}
	return appendQuotedIfNeeded(b, prober.EscapeText(v.String()))
}

// Size is the bytes the transcript holds: at most its budget and the truncation line.
func (t *Transcript) Size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return len(t.text)
	}
	return len(*t.buf) + len(t.truncation())
}

// truncation is the line that says what the budget left out, empty if nothing.
func (t *Transcript) truncation() string {
	if t.droppedRecords == 0 {
		return ""
	}
	return fmt.Sprintf("… transcript truncated: %d bytes (%d records) more not kept (%d bytes a probe, %d a dialogue of several)\n",
		t.droppedBytes, t.droppedRecords, t.max, t.max/dialogueShare)
}

// String is the transcript, one line a record, made to be read. The first
// call finishes it: later records are counted, not kept.
func (t *Transcript) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finishLocked()
	return t.text
}

// finish keeps the text in a string of its size and gives the buffer back;
// Run calls it once the probe has ended, so the history holds no slack.
func (t *Transcript) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finishLocked()
}

func (t *Transcript) finishLocked() {
	if t.done {
		return
	}
	t.text = string(*t.buf) + t.truncation()
	if cap(*t.buf) <= maxPooledText {
		*t.buf = (*t.buf)[:0]
		transcriptBuffers.Put(t.buf)
	}
	t.buf, t.done = nil, true
}

// appendQuotedIfNeeded appends an escaped value, quoted if it has spaces,
// quotes or "=" (escaped text has no control characters left to quote).
func appendQuotedIfNeeded(b []byte, v string) []byte {
	if v != "" && !strings.ContainsAny(v, " \"=") {
		return append(b, v...)
	}
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			b = append(b, '\\')
		}
		b = append(b, v[i])
	}
	return append(b, '"')
}

// EscapeLines escapes each line of a text that is shown whole (debug=true's metrics).
func EscapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prober.EscapeText(l)
	}
	return strings.Join(lines, "\n")
}

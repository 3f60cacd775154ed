package collector

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// probeLogHandler tees one probe's records: all of them, at debug, into a
// buffer for debug=true and /logs; and those the process logger wants, re-levelled
// to --log.prober, to stderr.
type probeLogHandler struct {
	buf     slog.Handler
	process slog.Handler
	level   slog.Level
}

// lockedBuffer lets the submission prober's concurrent dialogues share one transcript.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newProbeLogger returns the probe's logger and the buffer its transcript goes to.
func newProbeLogger(process *slog.Logger, level slog.Level) (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	h := &probeLogHandler{
		buf:     slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}),
		process: process.Handler(),
		level:   level,
	}
	return slog.New(h), buf
}

func (h *probeLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *probeLogHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.buf.Handle(ctx, r)
	if h.process.Enabled(ctx, h.level) {
		r2 := r.Clone()
		r2.Level = h.level
		_ = h.process.Handle(ctx, r2)
	}
	return err
}

func (h *probeLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &probeLogHandler{buf: h.buf.WithAttrs(attrs), process: h.process.WithAttrs(attrs), level: h.level}
}

func (h *probeLogHandler) WithGroup(name string) slog.Handler {
	return &probeLogHandler{buf: h.buf.WithGroup(name), process: h.process.WithGroup(name), level: h.level}
}

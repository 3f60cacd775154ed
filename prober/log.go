package prober

import (
	"context"
	"log/slog"
	"runtime"
	"time"
)

// sourceNeeder is a handler that tells whether a record at level shows
// where it was logged. runner's per-probe handler says no unless the record
// also reaches the process log: its transcript shows no source.
type sourceNeeder interface {
	NeedsSource(ctx context.Context, level slog.Level) bool
}

// Log logs msg at level as logger.LogAttrs does, less the look-up of the
// caller (runtime.Callers) that slog makes for every record, when the
// handler shows no source: a dialogue logs some twenty lines. The runner
// logs its probe records with it too.
func Log(logger *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	ctx := context.Background()
	h := logger.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	var pc uintptr
	if s, ok := h.(sourceNeeder); !ok || s.NeedsSource(ctx, level) {
		var pcs [1]uintptr
		runtime.Callers(2, pcs[:]) // skip Callers and Log: the source is Log's caller
		pc = pcs[0]
	}
	r := slog.NewRecord(time.Now(), level, msg, pc)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r)
}

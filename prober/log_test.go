package prober

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
)

// keepingHandler keeps the records it handles at level and above.
type keepingHandler struct {
	records []slog.Record
	level   slog.Level
}

func (h *keepingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *keepingHandler) Handle(_ context.Context, r slog.Record) error {
	h.records = append(h.records, r)
	return nil
}
func (h *keepingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *keepingHandler) WithGroup(string) slog.Handler      { return h }

// sourcelessHandler says it shows no source.
type sourcelessHandler struct{ keepingHandler }

func (*sourcelessHandler) NeedsSource(context.Context, slog.Level) bool { return false }

// TestLogLineSource: Log's records name its caller as their source,
// as logger.Debug's would, unless the handler says it shows no source;
// a level the handler does not want makes no record.
func TestLogLineSource(t *testing.T) {
	h := &keepingHandler{level: slog.LevelDebug}
	Log(slog.New(h), slog.LevelDebug, "C: EHLO x", slog.Int("code", 250))
	if len(h.records) != 1 {
		t.Fatalf("%d records", len(h.records))
	}
	r := h.records[0]
	frame, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
	if !strings.HasSuffix(frame.Function, ".TestLogLineSource") || !strings.HasSuffix(frame.File, "log_test.go") {
		t.Errorf("source %s (%s:%d), want TestLogLineSource in log_test.go", frame.Function, frame.File, frame.Line)
	}
	if r.Message != "C: EHLO x" || r.Level != slog.LevelDebug || r.NumAttrs() != 1 || r.Time.IsZero() {
		t.Errorf("record %+v", r)
	}

	quiet := &sourcelessHandler{keepingHandler{level: slog.LevelDebug}}
	Log(slog.New(quiet), slog.LevelDebug, "S: 250 ok")
	if len(quiet.records) != 1 || quiet.records[0].PC != 0 {
		t.Errorf("a handler that shows no source got %d records, PC %v", len(quiet.records), quiet.records)
	}

	info := &keepingHandler{level: slog.LevelInfo}
	Log(slog.New(info), slog.LevelDebug, "S: 250 ok")
	if len(info.records) != 0 {
		t.Errorf("a debug record reached a handler at info")
	}
}

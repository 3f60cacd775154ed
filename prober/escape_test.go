package prober

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

func TestEscapeText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"220 mail.example.com ESMTP", "220 mail.example.com ESMTP"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"title\x1b]0;pwned\x07", `title\x1b]0;pwned\x07`},
		{"NUL\x00 DEL\x7f tab\t CR\r", `NUL\x00 DEL\x7f tab\x09 CR\x0d`},
		{"C1 \u009b CSI", `C1 \xc2\x9b CSI`},
		{"invalid \xff\xfe utf8 \xe2\x82", `invalid \xff\xfe utf8 \xe2\x82`},
		{"Grüße, 你好, ✓", "Grüße, 你好, ✓"},
		{"bidi \u202e override", `bidi \xe2\x80\xae override`},
		{`already \x1b escaped`, `already \x1b escaped`},
	} {
		got := EscapeText(tc.in)
		if got != tc.want {
			t.Errorf("EscapeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if EscapeText(got) != got {
			t.Errorf("EscapeText(%q) is not idempotent", got)
		}
	}
}

func TestClipText(t *testing.T) {
	if got := clipText("Grüße", 3); got != "Gr…" {
		t.Errorf("clipText cut a rune: %q", got)
	}
	if got := clipText("short", 10); got != "short" {
		t.Errorf("clipText(short) = %q", got)
	}
}

// TestCodeErrorBounded: a refusal of 100 lines of 2 kB with escapes gives
// an error of bounded size, escaped: it is kept while the probe runs (once
// per dialogue) and printed by check.
func TestCodeErrorBounded(t *testing.T) {
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = "\x1b[31m" + strings.Repeat("x", 2030)
	}
	msg := newCodeError(reply{code: 554, lines: lines}).Error()
	if len(msg) > 4*maxErrorText+64 || strings.ContainsRune(msg, 0x1b) || !strings.HasPrefix(msg, `unexpected reply 554 \x1b[31mxxx`) {
		t.Errorf("error of %d bytes: %.100q", len(msg), msg)
	}
}

// TestParseEHLOBounded: a hostile EHLO of 100 lines of 2 kB, each "X a a a
// …", leaves a bounded set of short capabilities, and those we use intact.
func TestParseEHLOBounded(t *testing.T) {
	lines := []string{"mail.test", "AUTH PLAIN LOGIN", "SIZE 1000"}
	for len(lines) < 100 {
		lines = append(lines, "X"+strings.Repeat(" a", 1020), strings.Repeat("LONGKEYWORD", 100))
	}
	caps := parseEHLO(reply{code: 250, lines: lines})
	params := 0
	for kw, ps := range caps {
		params += len(ps)
		if len(kw) > maxCapabilityBytes {
			t.Errorf("keyword of %d bytes kept", len(kw))
		}
	}
	if params > maxCapabilityParams {
		t.Errorf("%d parameters kept, want at most %d", params, maxCapabilityParams)
	}
	if n, ok := caps.size(); !ok || n != 1000 || len(caps["AUTH"]) != 2 {
		t.Errorf("SIZE %d %v, AUTH %v", n, ok, caps["AUTH"])
	}
}

// recordingHandler keeps every record's message and attribute values.
type recordingHandler struct {
	mu    *sync.Mutex
	texts *[]string
}

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.texts = append(*h.texts, r.Message)
	r.Attrs(func(a slog.Attr) bool { *h.texts = append(*h.texts, a.Value.String()); return true })
	return nil
}

// TestServerTextEscapedAtSource: the conn logs the server's lines, and the
// dialogue its failure, already escaped, whatever handler receives them.
func TestServerTextEscapedAtSource(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Greeting: []string{"554-\x1b[31mred\x1b[0m \x1b]0;pwned\x07", "554 go away\x00\x7f\u009b\xff Grüße"}})
	var texts []string
	logger := slog.New(recordingHandler{&sync.Mutex{}, &texts})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := Probe(ctx, Target{Host: "127.0.0.1", Port: srv.Port}, module("tcp", "", 5*time.Second), logger)
	wantFailure(t, res, PhaseGreeting, ReasonUnexpectedCode, 554)
	sawGreeting := false
	for _, s := range texts {
		if EscapeText(s) != s {
			t.Errorf("logged raw: %q", s)
		}
		sawGreeting = sawGreeting || strings.HasPrefix(s, `S: 554-\x1b[31mred`)
	}
	if !sawGreeting {
		t.Errorf("greeting not logged: %q", texts)
	}
}

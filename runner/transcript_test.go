package runner

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

var line2K = strings.Repeat("x", 2042)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestTranscriptBudget: a probe logging 1000 lines of 2 kB keeps the first
// ones within its budget, counts the rest, and still keeps its last word.
func TestTranscriptBudget(t *testing.T) {
	const budget = 64 << 10
	logger, tr := NewProbeLogger(discardLogger(), slog.LevelDebug, budget, "module", "tcp", "target", "x:25")
	logger.Info("beginning probe")
	for i := range 1000 {
		logger.Debug(fmt.Sprintf("S: 250-%04d %s", i, line2K))
	}
	logger.Info("probe failed", "failure", "greeting/bad_reply")

	size := tr.Size()
	text := tr.String()
	if size > budget+200 || len(text) > size {
		t.Errorf("size %d, rendered %d bytes: want at most the budget %d and the truncation line", size, len(text), budget)
	}
	if !strings.Contains(text, "S: 250-0000 ") || !strings.Contains(text, "S: 250-0020 ") {
		t.Error("the first lines were not kept")
	}
	if !strings.HasSuffix(strings.Split(text, "\n…")[0], "INFO  probe failed failure=greeting/bad_reply") {
		t.Errorf("the probe's last word was not kept before the truncation line:\n%s", text[max(0, len(text)-400):])
	}
	m := regexp.MustCompile(`\n… transcript truncated: (\d+) bytes \((\d+) records\) more not kept \(65536 bytes a probe, 8192 a dialogue of several\)\n$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no truncation line at the end:\n%s", text[max(0, len(text)-400):])
	}
	kept := strings.Count(text, "S: 250-")
	if m[2] != fmt.Sprint(1000-kept) {
		t.Errorf("%s records counted as dropped, want %d (1000 minus the %d kept)", m[2], 1000-kept, kept)
	}
	if strings.Contains(text, "module=") || strings.Contains(text, "target=") {
		t.Error("module and target are repeated on every line")
	}
}

// TestTranscriptDialogues: however many dialogues a probe has (an mx probe
// with all_addresses has up to 160), the transcript stays within the
// probe's budget, and one chatty dialogue leaves the others their lines.
func TestTranscriptDialogues(t *testing.T) {
	const budget = 64 << 10
	t.Run("160 chatty dialogues", func(t *testing.T) {
		logger, tr := NewProbeLogger(discardLogger(), slog.LevelDebug, budget)
		var wg sync.WaitGroup
		for mx := range 10 {
			host := logger.With("mx", fmt.Sprintf("mx%d.example.test", mx))
			for a := range 16 {
				d := host.With("address", fmt.Sprintf("192.0.2.%d", a))
				wg.Go(func() {
					for i := range 500 { // 100 lines × 5 replies
						d.Debug("S: 250-" + line2K)
						_ = i
					}
				})
			}
		}
		wg.Wait()
		if size, text := tr.Size(), tr.String(); size > budget+200 || len(text) > size {
			t.Errorf("size %d, rendered %d: want at most the budget %d and the truncation line", size, len(text), budget)
		}
	})
	t.Run("one chatty among quiet ones", func(t *testing.T) {
		logger, tr := NewProbeLogger(discardLogger(), slog.LevelDebug, budget)
		chatty := logger.With("port", 587)
		for range 1000 {
			chatty.Debug("S: 250-" + line2K)
		}
		for _, port := range []int{465, 2525} {
			quiet := logger.With("port", port)
			for i := range 30 {
				quiet.Debug(fmt.Sprintf("S: 250 line %d", i))
			}
		}
		text := tr.String()
		for _, port := range []string{"465", "2525"} {
			if n := strings.Count(text, " port="+port+"\n"); n != 30 {
				t.Errorf("port %s kept %d of its 30 lines beside a chatty dialogue", port, n)
			}
		}
		if n := strings.Count(text, "port=587\n"); n*2100 > budget/dialogueShare {
			t.Errorf("the chatty dialogue kept %d lines of 2 kB, over its share of %d bytes", n, budget/dialogueShare)
		}
	})
}

// TestTranscriptEntryBytes: entryBytes covers what an entry costs besides its strings.
func TestTranscriptEntryBytes(t *testing.T) {
	if got := unsafe.Sizeof(transcriptEntry{}); got > entryBytes {
		t.Errorf("a transcriptEntry is %d bytes, entryBytes counts %d", got, entryBytes)
	}
}

// hostile is server text with a terminal escape, NUL, DEL, a C1 control
// and invalid UTF-8; printable UTF-8 beside them.
const hostile = "220 \x1b]0;pwned\x07\x1b[31mred\x00\x7f\u009b\xff Grüße"

// TestTranscriptEscapes: whatever a prober logs, the transcript and the
// process log (text or JSON) show server bytes escaped, UTF-8 readable.
func TestTranscriptEscapes(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var process bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&process, &slog.HandlerOptions{Level: slog.LevelDebug})
		if format == "json" {
			h = slog.NewJSONHandler(&process, &slog.HandlerOptions{Level: slog.LevelDebug})
		}
		logger, tr := NewProbeLogger(slog.New(h), slog.LevelInfo, 0)
		logger.With("mx", "mx\x1b.test").Debug("S: "+hostile, "err", fmt.Errorf("reply %s", hostile), "code", 554)
		for name, out := range map[string]string{"transcript": tr.String(), format + " process log": process.String()} {
			if raw := smtptest.RawBytes(out); raw != "" {
				t.Errorf("%s has a raw %s:\n%q", name, raw, out)
			}
			if !strings.Contains(out, "Grüße") || !strings.Contains(out, `\x1b`) {
				t.Errorf("%s lost the readable text or the escape:\n%s", name, out)
			}
		}
	}
}

func TestEscapeLines(t *testing.T) {
	got := EscapeLines("a\x1bb\nc\x00\n")
	if want := `a\x1bb` + "\n" + `c\x00` + "\n"; got != want {
		t.Errorf("escapeLines = %q, want %q", got, want)
	}
}

// TestProbeLogger: the transcript is buffered at debug always; the process log
// gets the records re-levelled to --log.prober, if its level lets them through.
func TestProbeLogger(t *testing.T) {
	for _, tc := range []struct {
		proberLevel slog.Level
		wantProcess string // "" when nothing reaches the process log
	}{
		{slog.LevelDebug, ""},
		{slog.LevelInfo, `level=INFO msg="S: 220 ready" module=tcp`},
		{slog.LevelWarn, `level=WARN msg="S: 220 ready" module=tcp`},
	} {
		var process bytes.Buffer
		logger, buf := NewProbeLogger(slog.New(slog.NewTextHandler(&process, &slog.HandlerOptions{Level: slog.LevelInfo})), tc.proberLevel, 0, "module", "tcp")
		logger.Debug("S: 220 ready")
		if !strings.Contains(buf.String(), "DEBUG S: 220 ready\n") {
			t.Errorf("level %s: transcript %q", tc.proberLevel, buf.String())
		}
		if tc.wantProcess == "" {
			if process.Len() != 0 {
				t.Errorf("level %s: process log got %q", tc.proberLevel, process.String())
			}
		} else if !strings.Contains(process.String(), tc.wantProcess) {
			t.Errorf("level %s: process log %q, want %q", tc.proberLevel, process.String(), tc.wantProcess)
		}
	}
}

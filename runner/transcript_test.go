package runner

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
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

// TestTranscriptCountsItsText: the budget counts the bytes of the lines
// kept, so what Size tells the history is what String renders.
func TestTranscriptCountsItsText(t *testing.T) {
	for _, lines := range []int{0, 3, 100} {
		logger, tr := NewProbeLogger(discardLogger(), slog.LevelDebug, 4096)
		for i := range lines {
			logger.Debug(fmt.Sprintf("S: 250-%d %s", i, line2K[:100]), "code", 250, "err", errors.New("x y"))
		}
		size := tr.Size()
		if text := tr.String(); size != len(text) || len(text) > 4096+200 {
			t.Errorf("%d lines: Size %d before String, which renders %d bytes (budget 4096)", lines, size, len(text))
		}
	}
}

// TestTranscriptLine: a line is the time as "15:04:05.000", the level
// padded to five, the message, the dialogue's and the record's attributes.
func TestTranscriptLine(t *testing.T) {
	for _, at := range []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 6_999_999, time.Local), time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC), {}} {
		_, tr := NewProbeLogger(discardLogger(), slog.LevelDebug, 0)
		h := &probeLogHandler{tr: tr, scope: " port=587", dlg: &dialogueUse{max: 1 << 20}}
		r := slog.NewRecord(at, slog.LevelInfo, "probe step failed", 0)
		r.AddAttrs(slog.Int("code", -421), slog.Float64("seconds", 0.25), slog.String("err", `say "hi"=x`), slog.String("empty", ""))
		tr.add(h.dlg, h.scope, r)
		want := at.Format("15:04:05.000") + ` INFO  probe step failed port=587 code=-421 seconds=0.25 err="say \"hi\"=x" empty=""` + "\n"
		if got := tr.String(); got != want {
			t.Errorf("line\n%q, want\n%q", got, want)
		}
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

// TestProcessLogShowsSource: a record that reaches the process log still
// says where the prober logged it (the prober skips that look-up only for
// records that do not), and the transcript gets every line either way.
func TestProcessLogShowsSource(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{GreetAtOnce: true})
	req, err := Resolve(config.Builtin(), srv.Addr, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		proberLevel slog.Level
		wantSource  bool
	}{{slog.LevelDebug, false}, {slog.LevelInfo, true}} {
		var process bytes.Buffer
		r := &Runner{Logger: slog.New(slog.NewTextHandler(&process, &slog.HandlerOptions{AddSource: true, Level: slog.LevelInfo})), ProberLevel: tc.proberLevel}
		out := r.Run(t.Context(), req, 5*time.Second)
		if !strings.Contains(out.Transcript.String(), "DEBUG S: 220 ") {
			t.Errorf("--log.prober=%s: no greeting in the transcript:\n%s", tc.proberLevel, out.Transcript)
		}
		greeting := regexp.MustCompile(`(?m)^.*msg="S: 220 .*$`).FindString(process.String())
		if got := greeting != ""; got != tc.wantSource {
			t.Errorf("--log.prober=%s: greeting in the process log %v, want %v:\n%s", tc.proberLevel, got, tc.wantSource, process.String())
		}
		if tc.wantSource && !regexp.MustCompile(`source=\S*prober/session\.go:\d+ `).MatchString(greeting) {
			t.Errorf("the process log's greeting does not say where the prober logged it: %s", greeting)
		}
	}
}

package web

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/promslog"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// syncBuffer is a process log written by concurrent dialogues.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServerBytesEscapedEverywhere: a greeting with terminal escapes, NUL,
// DEL, C1 and invalid UTF-8 (and a 554 reply quoting them, which becomes
// the failure's error) reaches debug=true, /logs and the process log
// (logfmt and JSON) escaped, its printable UTF-8 readable.
func TestServerBytesEscapedEverywhere(t *testing.T) {
	greeting := smtptest.NewServer(t, smtptest.Options{Greeting: smtptest.EscapeGreeting})
	refusal := smtptest.NewServer(t, smtptest.Options{Greeting: []string{"554 \x1b[31mgo away\x00\xff Grüße"}})
	for _, format := range []string{"logfmt", "json"} {
		s := newTestServer(t, testConfig(refusedPort(t)))
		var process syncBuffer
		cfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat(), Writer: &process}
		_ = cfg.Level.Set("debug")
		_ = cfg.Format.Set(format)
		s.h.Runner.Logger = promslog.New(cfg)
		for id, srv := range []*smtptest.Server{greeting, refusal} {
			_, debug, _ := s.get(t, fmt.Sprintf("/probe?module=tcp&debug=true&target=%s", srv.Addr))
			_, logs, _ := s.get(t, fmt.Sprintf("/logs?id=%d", id))
			for name, out := range map[string]string{"debug=true": debug, "/logs": logs} {
				if raw := smtptest.RawBytes(out); raw != "" {
					t.Errorf("%s of probe %d has a raw %s:\n%q", name, id, raw, out)
				}
				if !strings.Contains(out, "Grüße") || !strings.Contains(out, `\x1b[31m`) {
					t.Errorf("%s of probe %d lost the readable text or the escape:\n%s", name, id, out)
				}
			}
		}
		if !strings.Contains(s.get2(t, "/logs?id=1"), `unexpected reply 554 \x1b[31mgo away\x00\xff Grüße`) {
			t.Errorf("the failure's error is not in /logs, escaped")
		}
		out := process.String()
		if raw := smtptest.RawBytes(out); raw != "" {
			t.Errorf("%s process log has a raw %s:\n%q", format, raw, out)
		}
		if !strings.Contains(out, "Grüße") || !strings.Contains(out, `x1b[31m`) {
			t.Errorf("%s process log lost the readable text or the escape:\n%s", format, out)
		}
	}
}

func (s *testServer) get2(t *testing.T, path string) string {
	_, body, _ := s.get(t, path)
	return body
}

package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// runMain runs the exporter binary (this test binary re-executed) and returns stdout and stderr.
func runMain(t *testing.T, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SMTP_EXPORTER_TEST_RUN_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // the exit status is check's verdict, asserted elsewhere
	return stdout.String(), stderr.String()
}

// TestCheckEscapesServerBytes: check --debug prints the transcript, the
// failure's error and the debug process log with a server's terminal
// escapes, NUL, DEL, C1 and invalid UTF-8 escaped, in text and JSON.
func TestCheckEscapesServerBytes(t *testing.T) {
	greeting := smtptest.NewServer(t, smtptest.Options{Greeting: smtptest.EscapeGreeting})
	refusal := smtptest.NewServer(t, smtptest.Options{Greeting: []string{"554 \x1b[31mgo away\x00\xff Grüße"}})
	for _, srv := range []*smtptest.Server{greeting, refusal} {
		for _, output := range []string{"text", "json"} {
			stdout, stderr := runMain(t, "check", srv.Addr, "--module", "tcp", "--debug", "--output", output, "--log.level", "debug")
			for name, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
				if raw := smtptest.RawBytes(out); raw != "" {
					t.Errorf("check --output %s of %s: %s has a raw %s:\n%q", output, srv.Addr, name, raw, out)
				}
			}
			if !strings.Contains(stdout, "Grüße") || !strings.Contains(stdout, `x1b[31m`) {
				t.Errorf("check --output %s: the transcript lost the readable text or the escape:\n%s", output, stdout)
			}
		}
	}
	stdout, _ := runMain(t, "check", refusal.Addr, "--module", "tcp")
	if !strings.Contains(stdout, `error:      unexpected reply 554 \x1b[31mgo away\x00\xff Grüße`) {
		t.Errorf("check's error line does not quote the reply escaped:\n%s", stdout)
	}
}

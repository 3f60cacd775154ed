package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// TestAuthRedactedEverywhere runs real AUTH exchanges (PLAIN, LOGIN,
// CRAM-MD5) and greps every output for the password, in clear and in the
// base64 forms the mechanisms put on the wire.
func TestAuthRedactedEverywhere(t *testing.T) {
	const user, password = "probe@example.test", "Tr0ub4dor&3-secret"
	ca := smtptest.NewCA(t)
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, Users: map[string]string{user: password}})
	caFile := ca.PEMFile(t)
	var cfg strings.Builder
	cfg.WriteString("modules:\n")
	for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5"} {
		fmt.Fprintf(&cfg, "  auth_%s:\n    prober: starttls\n    timeout: 5s\n    tls_config: {ca_file: %s}\n    smtp:\n      auth: {username: %q, password: %q, mechanism: %s}\n",
			strings.ToLower(strings.ReplaceAll(mech, "-", "")), caFile, user, password, mech)
	}
	s := newTestServer(t, cfg.String())
	var processLog lockedWriter // the process log at debug, with every probe record
	s.h.Runner.Logger = slog.New(slog.NewTextHandler(&processLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b64 := base64.StdEncoding.EncodeToString
	secrets := []string{password, b64([]byte("\x00" + user + "\x00" + password)), b64([]byte(password))}

	var outputs []string
	for _, mod := range []string{"auth_plain", "auth_login", "auth_crammd5"} {
		for _, debug := range []string{"", "&debug=true"} {
			code, body, _ := s.get(t, fmt.Sprintf("/probe?module=%s&target=127.0.0.1:%d%s", mod, srv.Port, debug))
			if code != 200 || (debug == "" && !strings.Contains(body, "probe_smtp_auth_success 1")) {
				t.Fatalf("%s%s: %d\n%s", mod, debug, code, body)
			}
			if debug != "" && !strings.Contains(body, "<redacted>") {
				t.Errorf("%s: the transcript does not show the redacted AUTH payload:\n%s", mod, body)
			}
			outputs = append(outputs, body)
		}
	}
	for _, path := range []string{"/", "/config", "/logs?id=0", "/logs?id=1", "/logs?id=2", "/logs?id=3", "/logs?id=4", "/logs?id=5"} {
		_, body, _ := s.get(t, path)
		outputs = append(outputs, body)
	}
	outputs = append(outputs, processLog.String())
	if !strings.Contains(processLog.String(), "C: AUTH") {
		t.Error("the process log at debug does not have the transcript")
	}
	for i, out := range outputs {
		for _, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("output %d carries the secret %q:\n%s", i, secret, out)
			}
		}
	}
}

type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

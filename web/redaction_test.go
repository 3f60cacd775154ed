package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

// TestTokensRedactedEverywhere runs XOAUTH2 and OAUTHBEARER logins — a
// token from the OAuth2 endpoint, one from bearer_token_file, one the
// server refuses, a client secret the endpoint refuses — and greps every
// output for the tokens, the client secrets and the AUTH messages as sent.
func TestTokensRedactedEverywhere(t *testing.T) {
	const user, clientSecret, wrongSecret = "probe@example.test", "Cl1ent~Secret.value", "Wr0ng~Secret.value"
	const fileToken, refusedToken = "file-token.Zm9vYmFy", "refused-token.YmFyYmF6"
	ca := smtptest.NewCA(t)
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	caFile := ca.PEMFile(t)
	ts := smtptest.NewTokenServer(t, ca, smtptest.TokenOptions{ClientID: "app", ClientSecret: clientSecret})
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, Tokens: map[string]string{ts.Token(1): user, fileToken: user}})
	dir := t.TempDir()
	tokenFile, refusedFile := filepath.Join(dir, "token"), filepath.Join(dir, "refused")
	for path, tok := range map[string]string{tokenFile: fileToken, refusedFile: refusedToken} {
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	oauth2 := func(secret string) string {
		return fmt.Sprintf("{client_id: app, client_secret: %q, token_url: %q, tls_config: {ca_file: %s}}", secret, ts.URL, caFile)
	}
	modules := map[string]string{ // module → smtp.auth, and whether it logs in
		"xoauth2_endpoint":    "{username: " + user + ", mechanism: XOAUTH2, oauth2: " + oauth2(clientSecret) + "}",
		"oauthbearer_file":    "{username: " + user + ", mechanism: OAUTHBEARER, bearer_token_file: " + tokenFile + "}",
		"oauthbearer_refused": "{username: " + user + ", mechanism: OAUTHBEARER, bearer_token_file: " + refusedFile + "}",
		"xoauth2_bad_secret":  "{username: " + user + ", mechanism: XOAUTH2, oauth2: " + oauth2(wrongSecret) + "}",
	}
	var cfg strings.Builder
	cfg.WriteString("modules:\n")
	for name, auth := range modules {
		fmt.Fprintf(&cfg, "  %s:\n    prober: starttls\n    timeout: 5s\n    tls_config: {ca_file: %s}\n    smtp:\n      auth: %s\n", name, caFile, auth)
	}
	s := newTestServer(t, cfg.String())
	s.h.History = NewHistory(100)
	var processLog lockedWriter
	s.h.Runner.Logger = slog.New(slog.NewTextHandler(&processLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	want := map[string]string{
		"xoauth2_endpoint": "probe_smtp_auth_success 1", "oauthbearer_file": "probe_smtp_auth_success 1",
		"oauthbearer_refused": `reason="auth_failed"`, "xoauth2_bad_secret": `reason="token_unavailable"`,
	}
	var outputs []string
	probes := 0
	for name := range modules {
		for _, debug := range []string{"", "&debug=true"} {
			code, body, _ := s.get(t, fmt.Sprintf("/probe?module=%s&target=127.0.0.1:%d%s", name, srv.Port, debug))
			probes++
			if code != 200 || (debug == "" && !strings.Contains(body, want[name])) {
				t.Fatalf("%s%s: %d, want %s\n%s", name, debug, code, want[name], body)
			}
			outputs = append(outputs, body)
		}
	}
	for _, path := range []string{"/", "/config"} {
		_, body, _ := s.get(t, path)
		outputs = append(outputs, body)
	}
	for id := range probes {
		_, body, _ := s.get(t, fmt.Sprintf("/logs?id=%d", id))
		outputs = append(outputs, body)
	}
	outputs = append(outputs, processLog.String())
	if !strings.Contains(processLog.String(), "C: AUTH XOAUTH2") || !strings.Contains(processLog.String(), "<redacted>") {
		t.Error("the process log at debug does not have the redacted transcript")
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	bearer := func(tok string) string {
		return fmt.Sprintf("n,a=%s,\x01host=127.0.0.1\x01port=%d\x01auth=Bearer %s\x01\x01", user, srv.Port, tok)
	}
	secrets := []string{clientSecret, wrongSecret, ts.Token(1), fileToken, refusedToken,
		b64(ts.Token(1)), b64(clientSecret), b64("app:" + clientSecret),
		b64("user=" + user + "\x01auth=Bearer " + ts.Token(1) + "\x01\x01"), b64(bearer(fileToken)), b64(bearer(refusedToken))}
	for i, out := range outputs {
		for _, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("output %d carries the secret %.40q:\n%.2000s", i, secret, out)
			}
		}
	}
}

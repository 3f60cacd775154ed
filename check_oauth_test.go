package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// TestCheckOAuth2: check logs in with XOAUTH2 through the token endpoint
// and names a token endpoint that refuses the client, and neither the
// token nor a client secret reaches its output, in text or JSON, with
// --debug and the debug process log.
func TestCheckOAuth2(t *testing.T) {
	const clientSecret, wrongSecret = "Cl1ent~Secret.check", "Wr0ng~Secret.check"
	ca := smtptest.NewCA(t)
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	caFile := ca.PEMFile(t)
	ts := smtptest.NewTokenServer(t, ca, smtptest.TokenOptions{ClientID: "app", ClientSecret: clientSecret})
	tokens := map[string]string{}
	for n := range 4 { // each check is a process of its own, with its own token
		tokens[ts.Token(n+1)] = "u@example.com"
	}
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, Tokens: tokens})
	var cfg strings.Builder
	cfg.WriteString("modules:\n")
	for name, secret := range map[string]string{"m365": clientSecret, "m365_bad": wrongSecret} {
		fmt.Fprintf(&cfg, "  %s:\n    prober: starttls\n    timeout: 5s\n    tls_config: {ca_file: %s}\n    smtp:\n      auth:\n"+
			"        username: u@example.com\n        mechanism: XOAUTH2\n"+
			"        oauth2: {client_id: app, client_secret: %q, token_url: %q, tls_config: {ca_file: %s}}\n",
			name, caFile, secret, ts.URL, caFile)
	}
	path := filepath.Join(t.TempDir(), "smtp.yml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for module, want := range map[string][]string{
		"m365":     {"auth ok: yes", `"auth_success": true`},
		"m365_bad": {"token_unavailable", `"failure_reason": "token_unavailable"`},
	} {
		for i, output := range []string{"text", "json"} {
			stdout, stderr := runMain(t, "check", srv.Addr, "--config.file", path, "--module", module, "--debug", "--output", output, "--log.level", "debug")
			if !strings.Contains(stdout, want[i]) {
				t.Errorf("check --module %s --output %s does not say %q:\n%s", module, output, want[i], stdout)
			}
			for _, secret := range append([]string{clientSecret, wrongSecret}, slices.Collect(maps.Keys(tokens))...) {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("check --module %s --output %s shows the secret %.30q:\n%s\n%s", module, output, secret, stdout, stderr)
				}
			}
		}
	}
}

package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte(`
modules:
  plain:
    prober: starttls
  custom:
    prober: tls
    timeout: 3s
    preferred_ip_protocol: ip6
    ip_protocol_fallback: false
    smtp:
      ehlo: probe.example.net
  sub:
    prober: submission
  sub_custom:
    prober: submission
    submission:
      ports:
        - {port: 2525, prober: starttls}
        - {port: 465, prober: tls}
`))
	if err != nil {
		t.Fatal(err)
	}

	plain := c.Modules["plain"]
	want := DefaultModule
	want.Prober = "starttls"
	plain.tls = nil // the built TLS config is not part of what the user wrote
	if !reflect.DeepEqual(plain, want) {
		t.Errorf("module with only a prober:\n got %+v\nwant %+v", plain, want)
	}
	if time.Duration(plain.Timeout) != 10*time.Second || plain.PreferredIPProtocol != "ip4" || !plain.IPProtocolFallback {
		t.Errorf("module defaults: timeout %s, preferred_ip_protocol %q, ip_protocol_fallback %v", plain.Timeout, plain.PreferredIPProtocol, plain.IPProtocolFallback)
	}
	s := plain.SMTP
	if s.ExpectGreetingCode != 220 || s.MailFrom != "probe@example.com" || s.RcptTo != "probe@example.invalid" ||
		s.EHLO != "" || s.Auth != nil || s.CheckAuthEnforced || s.FailIfAuthBeforeTLS {
		t.Errorf("smtp defaults: %+v", s)
	}

	custom := c.Modules["custom"]
	if time.Duration(custom.Timeout) != 3*time.Second || custom.PreferredIPProtocol != "ip6" || custom.IPProtocolFallback {
		t.Errorf("module values not taken: %+v", custom)
	}
	// Setting one smtp field keeps the defaults of the others.
	if custom.SMTP.EHLO != "probe.example.net" || custom.SMTP.ExpectGreetingCode != 220 || custom.SMTP.MailFrom != "probe@example.com" {
		t.Errorf("smtp defaults lost when one field is set: %+v", custom.SMTP)
	}

	if got := c.Modules["sub"].Submission.Ports; !reflect.DeepEqual(got, DefaultSubmissionPorts) {
		t.Errorf("submission default ports = %v, want %v", got, DefaultSubmissionPorts)
	}
	wantCustom := []SubmissionPort{{Port: 2525, Prober: "starttls"}, {Port: 465, Prober: "tls"}}
	if got := c.Modules["sub_custom"].Submission.Ports; !reflect.DeepEqual(got, wantCustom) {
		t.Errorf("submission ports = %v, want %v", got, wantCustom)
	}
	// The defaults are shared values: filling one module must not change them.
	if len(DefaultSubmissionPorts) != 3 || DefaultSubmissionPorts[0].Port != 587 {
		t.Errorf("DefaultSubmissionPorts was modified: %v", DefaultSubmissionPorts)
	}
	if len(c.Modules["plain"].Submission.Ports) != 0 {
		t.Errorf("non-submission module got submission ports: %v", c.Modules["plain"].Submission.Ports)
	}
}

func TestParseMechanismNormalised(t *testing.T) {
	c, err := Parse([]byte(`
modules:
  a:
    prober: starttls
    smtp:
      auth: {username: u, password: p, mechanism: cram-md5}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Modules["a"].SMTP.Auth.Mechanism; got != "CRAM-MD5" {
		t.Errorf("mechanism = %q, want CRAM-MD5", got)
	}
}

func TestParseUnknownKeys(t *testing.T) {
	for name, yml := range map[string]string{
		"top level":  "modules:\n  a:\n    prober: tcp\nbogus: 1\n",
		"module":     "modules:\n  a:\n    prober: tcp\n    bogus: 1\n",
		"smtp":       "modules:\n  a:\n    prober: tcp\n    smtp:\n      bogus: 1\n",
		"auth":       "modules:\n  a:\n    prober: starttls\n    smtp:\n      auth:\n        username: u\n        password: p\n        bogus: 1\n",
		"tls_config": "modules:\n  a:\n    prober: starttls\n    tls_config:\n      bogus: 1\n",
		"oauth2": "modules:\n  a:\n    prober: starttls\n    smtp:\n      auth:\n        username: u\n" +
			"        oauth2: {client_id: c, client_secret: s, token_url: \"https://login.example/t\", bogus: 1}\n",
		"submission port": "modules:\n  a:\n    prober: submission\n    submission:\n" +
			"      ports:\n        - {port: 587, prober: starttls, bogus: 1}\n",
		"misspelt field": "modules:\n  a:\n    prober: tcp\n    timout: 5s\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(yml))
			if err == nil {
				t.Fatal("unknown key accepted")
			}
			if !strings.Contains(err.Error(), "not found") {
				t.Errorf("error %q does not say the field is unknown", err)
			}
			if name != "top level" && !strings.Contains(err.Error(), `module "a"`) {
				t.Errorf("error %q does not name the module", err)
			}
		})
	}
}

// TestParseValidation checks that each invalid config is rejected with a
// message naming the module and the field.
func TestParseValidation(t *testing.T) {
	missingCA := filepath.Join(t.TempDir(), "no-such-ca.pem")
	tokenFile := writeFile(t, t.TempDir(), "token", "tok\n")
	const goodOAuth2 = `{client_id: c, client_secret: s, token_url: "https://login.example/t"}`
	for _, tc := range []struct {
		name string
		yml  string // the body of module "m"
		want []string
	}{
		{"bad prober", "prober: pop3", []string{"prober", `"pop3"`}},
		{"missing prober", "timeout: 5s", []string{"prober: missing"}},
		{"null module", "", []string{"prober: missing"}},
		{"zero timeout", "prober: tcp\ntimeout: 0s", []string{"timeout: must be positive"}},
		{"negative timeout", "prober: tcp\ntimeout: -1s", []string{"timeout:", "-1s"}},
		{"garbage timeout", "prober: tcp\ntimeout: soon", []string{"timeout:", "soon"}},
		{"bad preferred_ip_protocol", "prober: tcp\npreferred_ip_protocol: ipx", []string{"preferred_ip_protocol", `"ipx"`}},
		{"greeting code too small", "prober: tcp\nsmtp: {expect_greeting_code: 99}", []string{"smtp.expect_greeting_code", "99"}},
		{"greeting code too big", "prober: tcp\nsmtp: {expect_greeting_code: 600}", []string{"smtp.expect_greeting_code", "600"}},
		{"ehlo with spaces", "prober: tcp\nsmtp: {ehlo: probe example}", []string{"smtp.ehlo", `"probe example"`}},
		{"ehlo with CRLF", "prober: tcp\nsmtp: {ehlo: \"probe\\r\\nQUIT\"}", []string{"smtp.ehlo"}},
		{"mail_from with <>", "prober: tcp\nsmtp: {mail_from: <probe@example.com>}", []string{"smtp.mail_from", "<probe@example.com>"}},
		{"rcpt_to with <>", "prober: tcp\nsmtp: {rcpt_to: <x@example.com>}", []string{"smtp.rcpt_to"}},
		{"check_auth_enforced without mail_from", "prober: starttls\nsmtp: {check_auth_enforced: true, mail_from: \"\"}", []string{"smtp.check_auth_enforced", "mail_from"}},
		{"auth without username", "prober: starttls\nsmtp:\n  auth: {password: p}", []string{"smtp.auth.username"}},
		{"auth without password", "prober: starttls\nsmtp:\n  auth: {username: u}", []string{"smtp.auth.password", "exactly one"}},
		{"auth with two passwords", "prober: starttls\nsmtp:\n  auth: {username: u, password: p, password_file: /tmp/pw}", []string{"smtp.auth.password", "exactly one"}},
		{"auth with three passwords", "prober: starttls\nsmtp:\n  auth: {username: u, password: p, password_file: /tmp/pw, password_env: PW}", []string{"smtp.auth.password"}},
		{"auth bad mechanism", "prober: starttls\nsmtp:\n  auth: {username: u, password: p, mechanism: NTLM}", []string{"smtp.auth.mechanism", `"NTLM"`, "XOAUTH2"}},
		{"XOAUTH2 with a password", "prober: starttls\nsmtp:\n  auth: {username: u, password: p, mechanism: XOAUTH2}", []string{"smtp.auth.password", "bearer token"}},
		{"XOAUTH2 without a token", "prober: starttls\nsmtp:\n  auth: {username: u, mechanism: xoauth2}", []string{"smtp.auth.bearer_token_file", "exactly one"}},
		{"bearer_token_file and oauth2", "prober: starttls\nsmtp:\n  auth: {username: u, bearer_token_file: " + tokenFile + ", oauth2: " + goodOAuth2 + "}", []string{"smtp.auth.bearer_token_file", "exactly one"}},
		{"PLAIN with a token", "prober: starttls\nsmtp:\n  auth: {username: u, mechanism: PLAIN, bearer_token_file: " + tokenFile + "}", []string{"smtp.auth.mechanism", "PLAIN takes a password"}},
		{"bearer_token_file and password", "prober: starttls\nsmtp:\n  auth: {username: u, password_env: PW, bearer_token_file: " + tokenFile + "}", []string{"smtp.auth.password", "bearer token"}},
		{"bearer_token_file missing", "prober: starttls\nsmtp:\n  auth: {username: u, bearer_token_file: " + missingCA + "}", []string{"smtp.auth.bearer_token_file", "no-such-ca.pem"}},
		{"bearer_token_file /dev/zero", "prober: starttls\nsmtp:\n  auth: {username: u, bearer_token_file: /dev/zero}", []string{"smtp.auth.bearer_token_file", "not a regular file"}},
		{"token user with ^A", "prober: starttls\nsmtp:\n  auth: {username: \"u\\x01\", bearer_token_file: " + tokenFile + "}", []string{"smtp.auth.username", "control"}},
		{"oauth2 on tcp", "prober: tcp\nsmtp:\n  auth: {username: u, oauth2: " + goodOAuth2 + "}", []string{"smtp.auth", "need TLS"}},
		{"oauth2 without client_id", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_secret: s, token_url: \"https://login.example/t\"}}", []string{"smtp.auth.oauth2.client_id"}},
		{"oauth2 without secret", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_id: c, token_url: \"https://login.example/t\"}}", []string{"smtp.auth.oauth2.client_secret", "exactly one"}},
		{"oauth2 two secrets", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_id: c, client_secret: s, client_secret_file: " + tokenFile + ", token_url: \"https://login.example/t\"}}", []string{"smtp.auth.oauth2.client_secret", "exactly one"}},
		{"oauth2 client_secret_file missing", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_id: c, client_secret_file: " + missingCA + ", token_url: \"https://login.example/t\"}}", []string{"smtp.auth.oauth2.client_secret_file", "no-such-ca.pem"}},
		{"oauth2 plaintext token_url", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_id: c, client_secret: s, token_url: \"http://login.example/t\"}}", []string{"smtp.auth.oauth2.token_url", "https"}},
		{"oauth2 without token_url", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_id: c, client_secret: s}}", []string{"smtp.auth.oauth2.token_url"}},
		{"oauth2 jwt grant", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_id: c, client_secret: s, token_url: \"https://login.example/t\", grant_type: \"urn:ietf:params:oauth:grant-type:jwt-bearer\"}}", []string{"smtp.auth.oauth2.grant_type"}},
		{"oauth2 proxy", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_id: c, client_secret: s, token_url: \"https://login.example/t\", proxy_url: \"http://proxy:3128\"}}", []string{"smtp.auth.oauth2.proxy_url", "not supported"}},
		{"oauth2 missing ca_file", "prober: starttls\nsmtp:\n  auth: {username: u, oauth2: {client_id: c, client_secret: s, token_url: \"https://login.example/t\", tls_config: {ca_file: " + missingCA + "}}}", []string{"smtp.auth.oauth2.tls_config", "no-such-ca.pem"}},
		{"auth on tcp", "prober: tcp\nsmtp:\n  auth: {username: u, password: p}", []string{"smtp.auth", "need TLS"}},
		{"check_auth_enforced on tcp", "prober: tcp\nsmtp: {check_auth_enforced: true}", []string{"smtp.check_auth_enforced"}},
		{"fail_if_auth_before_tls on tls", "prober: tls\nsmtp: {fail_if_auth_before_tls: true}", []string{"smtp.fail_if_auth_before_tls", "tls"}},
		{"fail_if_auth_before_tls on tcp", "prober: tcp\nsmtp: {fail_if_auth_before_tls: true}", []string{"smtp.fail_if_auth_before_tls", "tcp"}},
		{"submission ports on starttls", "prober: starttls\nsubmission:\n  ports: [{port: 587, prober: starttls}]", []string{"submission.ports", "starttls"}},
		{"submission port 0", "prober: submission\nsubmission:\n  ports: [{port: 0, prober: starttls}]", []string{"submission.ports[0].port", "0"}},
		{"submission port too big", "prober: submission\nsubmission:\n  ports: [{port: 587, prober: starttls}, {port: 70000, prober: tls}]", []string{"submission.ports[1].port", "70000"}},
		{"submission port twice", "prober: submission\nsubmission:\n  ports: [{port: 587, prober: starttls}, {port: 587, prober: tls}]", []string{"submission.ports[1].port", "587", "twice"}},
		{"submission port bad prober", "prober: submission\nsubmission:\n  ports: [{port: 25, prober: tcp}]", []string{"submission.ports[0].prober", `"tcp"`}},
		{"missing ca_file", "prober: starttls\ntls_config: {ca_file: " + missingCA + "}", []string{"tls_config", "no-such-ca.pem"}},
		{"bad min_version", "prober: starttls\ntls_config: {min_version: TLS99}", []string{"TLS99"}},
		{"require_extensions not a keyword", "prober: tcp\nsmtp: {require_extensions: [PIPELINING, \"8BIT MIME\"]}", []string{"smtp.require_extensions[1]", `"8BIT MIME"`}},
		{"require_extensions twice", "prober: tcp\nsmtp: {require_extensions: [dsn, DSN]}", []string{"smtp.require_extensions[1]", "DSN listed twice"}},
		{"require_extensions too many", "prober: tcp\nsmtp: {require_extensions: [" + strings.Repeat("X,", 33) + "]}", []string{"smtp.require_extensions", "at most 32"}},
		{"bad greeting_regexp", "prober: tcp\nsmtp: {greeting_regexp: 'ESMTP('}", []string{"smtp.greeting_regexp", "missing closing )"}},
		{"bad ehlo_regexp", "prober: tcp\nsmtp: {ehlo_regexp: '[z-a]'}", []string{"smtp.ehlo_regexp", "invalid character class range"}},
		{"source_ip_address a name", "prober: tcp\nsource_ip_address: mail.example.com", []string{"source_ip_address", `"mail.example.com"`}},
		{"source_ip_address unspecified", "prober: tcp\nsource_ip_address: 0.0.0.0", []string{"source_ip_address", "unicast"}},
		{"source_ip_address other family", "prober: tcp\nsource_ip_address: 2001:db8::25", []string{"source_ip_address", "is ip6 but preferred_ip_protocol is ip4"}},
		{"submission port source other family", "prober: submission\npreferred_ip_protocol: ip6\nsubmission:\n  ports: [{port: 587, prober: starttls, source_ip_address: 192.0.2.1}]",
			[]string{"submission.ports[0].source_ip_address", "is ip4"}},
		{"tls_scan on tcp", "prober: tcp\ntls_scan: true", []string{"tls_scan", "not for prober tcp", "starttls, tls, submission or mx"}},
		{"tls_rpt on starttls", "prober: starttls\nmx: {tls_rpt: true}", []string{"mx:", "only for prober mx"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yml := "modules:\n  ok:\n    prober: tcp\n  m:\n" + indent(tc.yml, "    ")
			_, err := Parse([]byte(yml))
			if err == nil {
				t.Fatalf("accepted:\n%s", yml)
			}
			msg := err.Error()
			for _, w := range append([]string{`module "m"`}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, `module "ok"`) {
				t.Errorf("error %q blames the valid module", msg)
			}
		})
	}
}

func TestParseReportsEveryBadModule(t *testing.T) {
	for name, tc := range map[string]struct {
		yml  string
		want []string
	}{
		"decoding": {"modules:\n  a:\n    prober: tcp\n    timeout: -1s\n  b:\n    prober: tcp\n    bogus: 1\n  c:\n    prober: tcp\n",
			[]string{`module "a": timeout`, `module "b": yaml`, "bogus"}},
		"validation": {"modules:\n  a:\n    prober: nope\n  b:\n    prober: tcp\n    timeout: 0s\n  c:\n    prober: tcp\n",
			[]string{`module "a": prober`, `module "b": timeout`}},
	} {
		_, err := Parse([]byte(tc.yml))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", name, err, w)
			}
		}
		if strings.Contains(err.Error(), `module "c"`) {
			t.Errorf("%s: error %q blames the valid module", name, err)
		}
	}
}

func TestParseNoModules(t *testing.T) {
	for _, yml := range []string{"", "modules: {}\n", "modules:\n"} {
		if _, err := Parse([]byte(yml)); err == nil || !strings.Contains(err.Error(), "no modules") {
			t.Errorf("Parse(%q) = %v, want an error about no modules", yml, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "absent.yml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	bad := writeFile(t, dir, "bad.yml", "modules:\n  a:\n    prober: nope\n")
	_, err := Load(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `module "a"`) {
		t.Errorf("Load(bad) = %v, want an error naming the file and module", err)
	}
	good := writeFile(t, dir, "good.yml", "modules:\n  a:\n    prober: tls\n")
	c, err := Load(good)
	if err != nil || c.Modules["a"].Prober != "tls" {
		t.Errorf("Load(good) = %+v, %v", c, err)
	}
}

func TestBuiltin(t *testing.T) {
	c := Builtin()
	want := map[string]string{"tcp": "tcp", "starttls": "starttls", "tls": "tls", "submission": "submission", "mx": "mx"}
	if len(c.Modules) != len(want) {
		t.Errorf("Builtin has modules %v, want %v", c.ModuleNames(), want)
	}
	for name, prober := range want {
		m, ok := c.Modules[name]
		if !ok {
			t.Errorf("Builtin lacks module %q", name)
			continue
		}
		if m.Prober != prober {
			t.Errorf("Builtin module %q has prober %q, want %q", name, m.Prober, prober)
		}
		if time.Duration(m.Timeout) != 10*time.Second || m.SMTP.ExpectGreetingCode != 220 {
			t.Errorf("Builtin module %q lacks defaults: %+v", name, m)
		}
	}
	if got := c.Modules["submission"].Submission.Ports; !reflect.DeepEqual(got, DefaultSubmissionPorts) {
		t.Errorf("Builtin submission ports = %v", got)
	}
	if got := c.ModuleNames(); !reflect.DeepEqual(got, []string{"mx", "starttls", "submission", "tcp", "tls"}) {
		t.Errorf("ModuleNames = %v, want sorted", got)
	}
	// The kinds table: default ports, and the module /probe picks by port.
	for name, port := range map[string]int{"tcp": 25, "starttls": 587, "tls": 465, "submission": 0, "mx": 25} {
		if k, ok := KindOf(name); !ok || k.DefaultPort != port {
			t.Errorf("KindOf(%q) = %+v, %v; want default port %d", name, k, ok, port)
		}
	}
	for port, kind := range map[int]string{0: "submission", 465: "tls", 587: "starttls", 25: "starttls", 2525: "starttls"} {
		if got := KindForPort(port); got != kind {
			t.Errorf("KindForPort(%d) = %q, want %q", port, got, kind)
		}
	}
}

func TestReadPassword(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		auth    Auth
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "password", auth: Auth{Password: "inline pw"}, want: "inline pw"},
		{name: "file with newline", auth: Auth{PasswordFile: writeFile(t, dir, "nl", "from-file\n")}, want: "from-file"},
		{name: "file with CRLF", auth: Auth{PasswordFile: writeFile(t, dir, "crlf", "from-file\r\n")}, want: "from-file"},
		{name: "file without newline", auth: Auth{PasswordFile: writeFile(t, dir, "bare", "bare pw ")}, want: "bare pw "},
		{name: "missing file", auth: Auth{PasswordFile: filepath.Join(dir, "absent")}, wantErr: "password_file"},
		{name: "env", auth: Auth{PasswordEnv: "SMTP_EXPORTER_TEST_PW"}, env: map[string]string{"SMTP_EXPORTER_TEST_PW": "from-env"}, want: "from-env"},
		{name: "env set empty", auth: Auth{PasswordEnv: "SMTP_EXPORTER_TEST_PW"}, env: map[string]string{"SMTP_EXPORTER_TEST_PW": ""}, want: ""},
		{name: "env unset", auth: Auth{PasswordEnv: "SMTP_EXPORTER_TEST_PW_UNSET"}, wantErr: "SMTP_EXPORTER_TEST_PW_UNSET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := tc.auth.ReadPassword()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("ReadPassword() = %q, %v; want an error mentioning %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ReadPassword() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestReadPasswordRotated checks that the file is read per call, so a rotated password needs no reload.
func TestReadPasswordRotated(t *testing.T) {
	dir := t.TempDir()
	a := Auth{PasswordFile: writeFile(t, dir, "pw", "one\n")}
	if got, _ := a.ReadPassword(); got != "one" {
		t.Fatalf("got %q", got)
	}
	writeFile(t, dir, "pw", "two\n")
	if got, _ := a.ReadPassword(); got != "two" {
		t.Errorf("after rotation got %q, want two", got)
	}
}

const secretPassword = "s3cr3t-PASSWORD"

func TestYAMLRedactsSecrets(t *testing.T) {
	certPEM, keyPEM := clientCertPEM(t)
	c, err := Parse([]byte(`
modules:
  auth:
    prober: starttls
    smtp:
      auth: {username: probe@example.com, password: ` + secretPassword + `}
    tls_config:
      cert: |
` + indent(strings.TrimSpace(certPEM), "        ") + `
      key: |
` + indent(strings.TrimSpace(keyPEM), "        ")))
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{"Config.YAML": c.YAML(), "Module.YAML": c.Modules["auth"].YAML()} {
		s := string(out)
		if strings.Contains(s, secretPassword) || strings.Contains(s, "PRIVATE KEY") {
			t.Errorf("%s shows a secret:\n%s", name, s)
		}
		if strings.Count(s, "<secret>") != 2 {
			t.Errorf("%s should show the password and the key as <secret>:\n%s", name, s)
		}
		if !strings.Contains(s, "probe@example.com") || !strings.Contains(s, "BEGIN CERTIFICATE") {
			t.Errorf("%s lost what is not secret:\n%s", name, s)
		}
	}
}

// TestOAuth2Config: a valid oauth2 block loads, its client secret is
// <secret> wherever the config is shown, and the token cache is built at
// load, once, and shared by every copy of the module.
func TestOAuth2Config(t *testing.T) {
	c, err := Parse([]byte(`
modules:
  m365:
    prober: starttls
    smtp:
      auth:
        username: monitor@example.com
        mechanism: xoauth2
        oauth2:
          client_id: 00000000-0000-0000-0000-000000000001
          client_secret: ` + secretPassword + `
          token_url: https://login.microsoftonline.com/tenant/oauth2/v2.0/token
          scopes: [https://outlook.office365.com/.default]
          endpoint_params: {resource: x}
  either:
    prober: tls
    smtp:
      auth: {username: u, oauth2: {client_id: c, client_secret: s, token_url: "https://login.example/t"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Modules["m365"].SMTP.Auth
	if a.Mechanism != "XOAUTH2" || a.tokens == nil || !a.UsesToken() {
		t.Errorf("mechanism %q, token source %v", a.Mechanism, a.tokens)
	}
	if copied := c.Modules["m365"]; copied.SMTP.Auth.tokens != a.tokens {
		t.Error("a copy of the module has its own token cache")
	}
	if e := c.Modules["either"].SMTP.Auth; e.Mechanism != "" || !e.UsesToken() {
		t.Errorf("no mechanism with oauth2: %+v", e)
	}
	for name, out := range map[string][]byte{"Config.YAML": c.YAML(), "Module.YAML": c.Modules["m365"].YAML()} {
		s := string(out)
		if strings.Contains(s, secretPassword) || !strings.Contains(s, "client_secret: <secret>") {
			t.Errorf("%s does not hide the client secret:\n%s", name, s)
		}
		if !strings.Contains(s, "token_url: https://login.microsoftonline.com/tenant/oauth2/v2.0/token") {
			t.Errorf("%s lost the token_url:\n%s", name, s)
		}
	}
}

// clientCertPEM makes a self-signed certificate and its key for tls_config.cert/key.
func clientCertPEM(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "probe"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// TestYAMLRoundTrip checks that what /config shows is itself a valid config
// meaning the same thing.
func TestYAMLRoundTrip(t *testing.T) {
	pw := writeFile(t, t.TempDir(), "pw", "secret\n")
	orig, err := Parse([]byte(`
modules:
  a:
    prober: starttls
    timeout: 7s
    preferred_ip_protocol: ip6
    smtp:
      ehlo: probe.example.org
      fail_if_auth_before_tls: true
      check_auth_enforced: true
      auth: {username: u, password_file: ` + pw + `, mechanism: LOGIN}
      require_extensions: [SMTPUTF8, chunking]
      greeting_regexp: '^mail\.example\.org ESMTP'
      ehlo_regexp: '(?m)^PIPELINING$'
    tls_config: {server_name: smtp.example.org, insecure_skip_verify: true, min_version: TLS12}
    source_ip_address: 2001:db8::25
    tls_scan: true
  s:
    prober: submission
    source_ip_address: 192.0.2.25
    submission:
      ports: [{port: 587, prober: starttls, source_ip_address: 192.0.2.26}, {port: 465, prober: tls}]
  mx:
    prober: mx
    mx: {tls_rpt: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Config{"parsed": orig, "builtin": Builtin()} {
		again, err := Parse(c.YAML())
		if err != nil {
			t.Errorf("%s: YAML() output does not parse: %v\n%s", name, err, c.YAML())
			continue
		}
		if !reflect.DeepEqual(again, c) {
			t.Errorf("%s: round trip changed the config:\n got %+v\nwant %+v", name, again, c)
		}
	}
}

func TestSafeConfigReload(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "smtp.yml", "modules:\n  one:\n    prober: tcp\n")
	reg := prometheus.NewRegistry()
	sc := NewSafeConfig(path, reg)
	if sc.Path() != path {
		t.Errorf("Path() = %q", sc.Path())
	}

	before := time.Now()
	if err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	first := sc.Get()
	if _, ok := first.Modules["one"]; !ok {
		t.Fatalf("loaded modules %v", first.ModuleNames())
	}
	assertReloadGauge(t, reg, 1)
	if ts := testutil.ToFloat64(sc.reloadTime); ts < float64(before.Unix()) {
		t.Errorf("reload timestamp %v is before the reload (%v)", ts, before.Unix())
	}
	okTime := testutil.ToFloat64(sc.reloadTime)

	writeFile(t, dir, "smtp.yml", "modules:\n  one:\n    prober: tcp\n    timeout: -1s\n")
	err := sc.Reload()
	if err == nil || !strings.Contains(err.Error(), `module "one"`) {
		t.Fatalf("Reload of a broken file = %v", err)
	}
	if sc.Get() != first {
		t.Error("a failed reload replaced the config in force")
	}
	assertReloadGauge(t, reg, 0)
	if got := testutil.ToFloat64(sc.reloadTime); got != okTime {
		t.Errorf("a failed reload moved the success timestamp from %v to %v", okTime, got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := sc.Reload(); err == nil {
		t.Error("Reload of a deleted file succeeded")
	}
	if sc.Get() != first {
		t.Error("a failed reload replaced the config in force")
	}

	writeFile(t, dir, "smtp.yml", "modules:\n  two:\n    prober: tls\n")
	if err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := sc.Get().Modules["two"]; !ok {
		t.Errorf("reloaded modules %v, want two", sc.Get().ModuleNames())
	}
	if _, ok := first.Modules["two"]; ok {
		t.Error("a reload changed the snapshot a probe in flight holds")
	}
	assertReloadGauge(t, reg, 1)
}

func TestSafeConfigBuiltin(t *testing.T) {
	reg := prometheus.NewRegistry()
	sc := NewSafeConfig("", reg)
	if err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sc.Get(), Builtin()) {
		t.Errorf("SafeConfig without a path = %v, want the built-in modules", sc.Get().ModuleNames())
	}
	assertReloadGauge(t, reg, 1)
}

// TestSafeConfigNilRegisterer is how `check` uses it.
func TestSafeConfigNilRegisterer(t *testing.T) {
	sc := NewSafeConfig("", nil)
	if err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
}

// TestSafeConfigConcurrent is for -race: probes read while reloads swap.
func TestSafeConfigConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "smtp.yml", "modules:\n  one:\n    prober: tcp\n")
	sc := NewSafeConfig(path, prometheus.NewRegistry())
	if err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if c := sc.Get(); c == nil || len(c.Modules) != 1 {
					t.Error("Get returned an incomplete config")
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := sc.Reload(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
}

func assertReloadGauge(t *testing.T, reg *prometheus.Registry, want int) {
	t.Helper()
	exp := "# HELP smtp_exporter_config_last_reload_successful 1 if the last config load succeeded.\n" +
		"# TYPE smtp_exporter_config_last_reload_successful gauge\n" +
		"smtp_exporter_config_last_reload_successful " + map[int]string{0: "0", 1: "1"}[want] + "\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(exp), "smtp_exporter_config_last_reload_successful"); err != nil {
		t.Error(err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestTLSVerificationDefaults: the mx prober's servers are reached over
// opportunistic TLS, so its modules default to it; others leave it to the port.
func TestTLSVerificationDefaults(t *testing.T) {
	c, err := Parse([]byte("modules:\n  mx: {prober: mx}\n  st: {prober: starttls}\n  strict: {prober: mx, tls_verification: strict}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"mx": TLSOpportunistic, "st": "", "strict": TLSStrict} {
		if got := c.Modules[name].TLSVerification; got != want {
			t.Errorf("module %s: tls_verification %q, want %q", name, got, want)
		}
	}
	if _, err := Parse([]byte("modules:\n  a: {prober: tls, tls_verification: sometimes}\n")); err == nil || !strings.Contains(err.Error(), "tls_verification") {
		t.Errorf("bad tls_verification: %v", err)
	}
}

// TestParseSMTPExpectations: extension names are upper-cased while decoding,
// the regexps compiled and matching unanchored, unset ones matching anything.
func TestParseSMTPExpectations(t *testing.T) {
	c, err := Parse([]byte(`
modules:
  m:
    prober: starttls
    tls_scan: true
    source_ip_address: 127.0.0.2
    smtp:
      require_extensions: [smtputf8, Chunking, 8BITMIME]
      greeting_regexp: 'ESMTP Postfix'
  plain:
    prober: tcp
`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Modules["m"]
	if got := m.SMTP.RequireExtensions; !reflect.DeepEqual(got, []string{"SMTPUTF8", "CHUNKING", "8BITMIME"}) {
		t.Errorf("require_extensions = %q", got)
	}
	if !m.SMTP.GreetingRegexp.Matches("mail.example.org ESMTP Postfix (Debian)") || m.SMTP.GreetingRegexp.Matches("mail ESMTP Exim") {
		t.Error("greeting_regexp does not match as an unanchored RE2 pattern")
	}
	if !m.SMTP.EHLORegexp.Matches("anything") || !m.SMTP.EHLORegexp.IsZero() {
		t.Error("an unset ehlo_regexp must match any text")
	}
	if !m.TLSScan || m.SourceIPAddress != "127.0.0.2" {
		t.Errorf("tls_scan %v, source_ip_address %q", m.TLSScan, m.SourceIPAddress)
	}
	if y := string(c.Modules["plain"].YAML()); strings.Contains(y, "regexp") || strings.Contains(y, "require_extensions") {
		t.Errorf("unset fields render:\n%s", y)
	}
}

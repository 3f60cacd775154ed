package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"
)

const examplePath = "../config.example.yml"

// TestExampleConfigLoads keeps config.example.yml loadable and meaning what its comments say.
func TestExampleConfigLoads(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	wantProbers := map[string]string{
		"tcp": "tcp", "starttls": "starttls", "tls": "tls", "submission": "submission",
		"submission_auth": "starttls", "starttls_ip6": "starttls", "mx": "mx",
	}
	for name, prober := range wantProbers {
		if got := c.Modules[name].Prober; got != prober {
			t.Errorf("module %q: prober %q, want %q", name, got, prober)
		}
	}
	if len(c.Modules) != len(wantProbers) {
		t.Errorf("modules %v, want %d", c.ModuleNames(), len(wantProbers))
	}

	if got := c.Modules["submission"].Submission.Ports; !reflect.DeepEqual(got, DefaultSubmissionPorts) {
		t.Errorf("submission ports %v, want %v", got, DefaultSubmissionPorts)
	}
	if time.Duration(c.Modules["tcp"].Timeout) != 10*time.Second || c.Modules["tcp"].SMTP.EHLO != "probe.example.com" {
		t.Errorf("tcp module: %+v", c.Modules["tcp"])
	}

	sa := c.Modules["submission_auth"].SMTP
	// password_env, not password_file: the Docker image runs this file, and a
	// password_file that does not exist would stop it loading.
	if sa.Auth == nil || sa.Auth.PasswordEnv == "" || sa.Auth.Password != "" || sa.Auth.PasswordFile != "" {
		t.Errorf("submission_auth should take its password from password_env only: %+v", sa.Auth)
	}
	if !sa.CheckAuthEnforced || !sa.FailIfAuthBeforeTLS {
		t.Errorf("submission_auth: check_auth_enforced %v, fail_if_auth_before_tls %v", sa.CheckAuthEnforced, sa.FailIfAuthBeforeTLS)
	}

	ip6 := c.Modules["starttls_ip6"]
	if ip6.PreferredIPProtocol != "ip6" || ip6.IPProtocolFallback {
		t.Errorf("starttls_ip6: preferred_ip_protocol %q, ip_protocol_fallback %v", ip6.PreferredIPProtocol, ip6.IPProtocolFallback)
	}

	mx := c.Modules["mx"]
	if !mx.AllAddresses || !mx.DANE || !mx.MX.MTASTS || !mx.MX.TLSRPT || mx.MX.Port != 25 || mx.MX.MTASTSPort != 443 || mx.DNSResolver != "" {
		t.Errorf("mx: all_addresses %v, dane %v, mx %+v, dns_resolver %q", mx.AllAddresses, mx.DANE, mx.MX, mx.DNSResolver)
	}

	// The module names the handler picks by port must exist, so /probe works without module=.
	for _, name := range []string{"tls", "starttls", "submission"} {
		if _, ok := c.Modules[name]; !ok {
			t.Errorf("no module %q: /probe without module= would answer 400", name)
		}
	}
}

// TestExampleConfigDocumentsEveryField fails when a field is added to the
// schema without a line in config.example.yml (set or commented out).
func TestExampleConfigDocumentsEveryField(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, typ := range []reflect.Type{
		reflect.TypeFor[Config](), reflect.TypeFor[Module](), reflect.TypeFor[SMTP](), reflect.TypeFor[Auth](),
		reflect.TypeFor[Submission](), reflect.TypeFor[SubmissionPort](), reflect.TypeFor[promconfig.TLSConfig](),
		reflect.TypeFor[MX](),
	} {
		for f := range typ.Fields() {
			if tag := strings.Split(f.Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
				keys = append(keys, tag)
			}
		}
	}
	if len(keys) < 30 {
		t.Fatalf("found only %d keys by reflection: %v", len(keys), keys)
	}
	for _, k := range keys {
		// "key:" at the start of a line, possibly commented out or a list item.
		re := regexp.MustCompile(`(?m)^[ \t]*(#[ \t]*)?(- )?` + regexp.QuoteMeta(k) + `:`)
		if !re.Match(data) {
			t.Errorf("config.example.yml does not document %q", k)
		}
	}
}

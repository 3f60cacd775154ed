//go:build e2e && e2e_submission

// Issue 4 against the real Postfix: the submission prober's decision rule
// through the firewalled namespace, AUTH with Cyrus SASL, the RFC 6409 check,
// fail_if_auth_before_tls, redaction and the `check` command.
// Enabled by E2E_SUBMISSION=1 e2e/run.sh (build tag e2e_submission), which
// also writes the modules used here into the exporter config.

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func standardLoopbackPorts(t *testing.T) {
	t.Helper()
	if port(t, env(t, "E2E_LO_SUBMISSION")) != "587" || port(t, env(t, "E2E_LO_SMTPS")) != "465" || port(t, env(t, "E2E_LO_ALT")) != "2525" {
		t.Skip("587/465/2525 are taken on this machine's loopback; the namespace tests cover the decision rule")
	}
}

func portFailure(t *testing.T, r probeResult, port, phase, reason string) {
	t.Helper()
	fs := r.m.find("probe_smtp_failure", "port", port)
	if len(fs) != 1 || fs[0].Labels["phase"] != phase || fs[0].Labels["reason"] != reason {
		t.Errorf("port %s: want probe_smtp_failure{phase=%q,reason=%q}, got %v", port, phase, reason, fs)
	}
}

func TestSubmissionPicksFirstWorking(t *testing.T) {
	timeout := envSeconds(t, "E2E_DROP_TIMEOUT")
	t.Run("587 works", func(t *testing.T) {
		standardLoopbackPorts(t)
		t.Parallel()
		r := probe(t, env(t, "E2E_LO_HOST"), "submission")
		wantSuccess(t, r)
		wantValue(t, r, 587, "probe_smtp_submission_port")
		for _, p := range []string{"587", "465", "2525"} {
			wantValue(t, r, 1, "probe_smtp_reachable", "port", p)
			wantValue(t, r, 220, "probe_smtp_greeting_code", "port", p)
		}
		wantPhases(t, r, []string{"resolve", "connect", "greeting", "ehlo", "starttls", "tls", "quit"}, "port", "587")
		wantPhases(t, r, []string{"resolve", "connect", "tls", "greeting", "ehlo", "quit"}, "port", "465")
	})
	t.Run("587 dropped: 465", func(t *testing.T) {
		t.Parallel()
		r := probe(t, env(t, "E2E_NS_A"), "submission")
		if value(t, r, "probe_success") != 1 {
			t.Fatalf("probe_success != 1\n%s", r.context())
		}
		wantValue(t, r, 465, "probe_smtp_submission_port")
		portFailure(t, r, "587", "connect", "timeout")
		portFailure(t, r, "2525", "connect", "refused")
		if n := len(r.m.find("probe_smtp_failure")); n != 2 {
			t.Errorf("%d failure series, want one per failed port (2)", n)
		}
		wantValue(t, r, 1, "probe_smtp_reachable", "port", "465")
		wantValue(t, r, 0, "probe_smtp_reachable", "port", "587")
		if r.elapsed > timeout+time.Second {
			t.Errorf("took %v, module timeout %v", r.elapsed, timeout)
		}
	})
	t.Run("587 and 465 dropped: 2525", func(t *testing.T) {
		t.Parallel()
		r := probe(t, env(t, "E2E_NS_B"), "submission")
		if value(t, r, "probe_success") != 1 {
			t.Fatalf("probe_success != 1\n%s", r.context())
		}
		wantValue(t, r, 2525, "probe_smtp_submission_port")
		portFailure(t, r, "587", "connect", "timeout")
		portFailure(t, r, "465", "connect", "timeout")
		wantValue(t, r, 1, "probe_smtp_reachable", "port", "2525")
		if r.elapsed > timeout+time.Second {
			t.Errorf("took %v, module timeout %v", r.elapsed, timeout)
		}
	})
	t.Run("nothing works", func(t *testing.T) {
		t.Parallel()
		r := probe(t, env(t, "E2E_NS_C"), "submission")
		wantValue(t, r, 0, "probe_success")
		wantValue(t, r, 0, "probe_smtp_submission_port")
		for _, p := range []string{"587", "465", "2525"} {
			portFailure(t, r, p, "connect", "refused")
		}
	})
}

func TestSubmissionRejectsPort(t *testing.T) {
	r := rawProbe(t, url.Values{"target": {env(t, "E2E_NS_A") + ":587"}, "module": {"submission"}}, nil)
	if r.status != http.StatusBadRequest {
		t.Fatalf("a port given to the submission prober: want 400: %s", r.context())
	}
}

func TestAuth(t *testing.T) {
	lo587, lo465 := env(t, "E2E_LO_SUBMISSION"), env(t, "E2E_LO_SMTPS")
	for _, c := range []struct{ target, module string }{
		{lo587, "starttls_auth"}, // strongest advertised: CRAM-MD5
		{lo587, "starttls_auth_plain"},
		{lo587, "starttls_auth_login"},
		{lo587, "starttls_auth_inline"},
		{lo465, "tls_auth"},
		{env(t, "E2E_NS_B") + ":2525", "starttls_auth"},
	} {
		t.Run(c.module+"@"+c.target, func(t *testing.T) {
			r := probe(t, c.target, c.module)
			wantSuccess(t, r)
			wantValue(t, r, 1, "probe_smtp_auth_success")
			if !r.m.has("probe_smtp_duration_seconds", "phase", "auth") {
				t.Errorf("no auth phase timing")
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		r := probe(t, lo587, "starttls_auth_wrong")
		wantFailure(t, r, "auth", "auth_failed")
		wantValue(t, r, 0, "probe_smtp_auth_success")
		wantValue(t, r, 535, "probe_smtp_failure_reply_code")
	})
	t.Run("not advertised on 25", func(t *testing.T) {
		r := probe(t, env(t, "E2E_LO_SMTP"), "starttls_auth")
		wantFailure(t, r, "auth", "auth_unsupported")
	})
	t.Run("submission with auth", func(t *testing.T) {
		r := probe(t, env(t, "E2E_NS_A"), "submission_auth")
		wantValue(t, r, 465, "probe_smtp_submission_port")
		wantValue(t, r, 1, "probe_smtp_auth_success", "port", "465")
	})
}

// RFC 6409: Postfix's 587 accepts MAIL and refuses RCPT to a foreign domain
// (554 5.7.1) before AUTH; the deliberately open listener accepts both.
func TestAuthEnforced(t *testing.T) {
	t.Run("587 enforces", func(t *testing.T) {
		r := probe(t, env(t, "E2E_LO_SUBMISSION"), "starttls_enforced")
		wantSuccess(t, r)
		wantValue(t, r, 1, "probe_smtp_auth_enforced")
		if !r.m.has("probe_smtp_duration_seconds", "phase", "mail") {
			t.Errorf("no mail phase timing")
		}
	})
	t.Run("587 enforces, then AUTH", func(t *testing.T) {
		r := probe(t, env(t, "E2E_LO_SUBMISSION"), "starttls_enforced_auth")
		wantSuccess(t, r)
		wantValue(t, r, 1, "probe_smtp_auth_enforced")
		wantValue(t, r, 1, "probe_smtp_auth_success")
	})
	t.Run("open relay", func(t *testing.T) {
		r := probe(t, env(t, "E2E_LO_OPENRELAY"), "starttls_enforced")
		wantFailure(t, r, "mail", "auth_not_enforced")
		wantValue(t, r, 0, "probe_smtp_auth_enforced")
		wantValue(t, r, 250, "probe_smtp_failure_reply_code")
	})
}

func TestAuthBeforeTLS(t *testing.T) {
	r := probe(t, env(t, "E2E_LO_OPENRELAY"), "starttls_no_auth_before_tls")
	wantFailure(t, r, "ehlo", "auth_before_tls")
	wantValue(t, r, 1, "probe_smtp_auth_before_tls")

	r = probe(t, env(t, "E2E_LO_OPENRELAY"), "starttls") // reported, not failed
	wantSuccess(t, r)
	wantValue(t, r, 1, "probe_smtp_auth_before_tls")

	r = probe(t, env(t, "E2E_LO_SUBMISSION"), "starttls_no_auth_before_tls")
	wantSuccess(t, r)
	wantValue(t, r, 0, "probe_smtp_auth_before_tls")
}

var logsLinkRE = regexp.MustCompile(`logs\?id=(\d+)`)

// The password must appear nowhere the exporter writes: probe answers, debug
// transcripts, /config, the landing page, every history entry, its own log.
func TestRedaction(t *testing.T) {
	pw := env(t, "E2E_PASSWORD")
	var outputs []string
	add := func(what, s string) { outputs = append(outputs, what+"\x00"+s) }
	for _, c := range []struct{ target, module string }{
		{env(t, "E2E_LO_SUBMISSION"), "starttls_auth"},
		{env(t, "E2E_LO_SUBMISSION"), "starttls_auth_plain"},
		{env(t, "E2E_LO_SUBMISSION"), "starttls_auth_login"},
		{env(t, "E2E_LO_SUBMISSION"), "starttls_auth_inline"},
		{env(t, "E2E_LO_SMTPS"), "tls_auth"},
		{env(t, "E2E_NS_B"), "submission_auth"},
	} {
		r := probe(t, c.target, c.module)
		add("probe "+c.module, r.body)
		q := url.Values{"target": {c.target}, "module": {c.module}, "debug": {"true"}}
		_, body, _, _ := get(t, exporterURL(t, "/probe", q), nil)
		add("debug "+c.module, body)
		if c.module == "starttls_auth_plain" && !strings.Contains(body, "AUTH PLAIN") {
			t.Errorf("debug transcript of %s shows no AUTH PLAIN:\n%s", c.module, body)
		}
	}
	for _, p := range []string{"/config", "/", "/metrics"} {
		_, body, _, _ := get(t, exporterURL(t, p, nil), nil)
		add(p, body)
		if p == "/" {
			ids := logsLinkRE.FindAllStringSubmatch(body, 300)
			if len(ids) == 0 {
				t.Errorf("landing page links no /logs?id=N")
			}
			for _, id := range ids {
				_, lb, _, _ := get(t, exporterURL(t, "/logs", url.Values{"id": {id[1]}}), nil)
				add("/logs?id="+id[1], lb)
			}
		}
	}
	if b, err := os.ReadFile(env(t, "E2E_EXPORTER_LOG")); err == nil {
		add("exporter log", string(b))
	} else {
		t.Error(err)
	}
	// The password as sent on the wire inside PLAIN/LOGIN is base64: check
	// the encodings that would reveal it too.
	needles := []string{pw, b64(pw), b64("\x00" + env(t, "E2E_USER") + "\x00" + pw)}
	for _, o := range outputs {
		what, s, _ := strings.Cut(o, "\x00")
		for _, n := range needles {
			if strings.Contains(s, n) {
				t.Errorf("%s reveals the password (%q)", what, n)
			}
		}
	}
}

func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"check", "--config.file=" + env(t, "E2E_CONFIG_FILE")}, args...)
	cmd := exec.CommandContext(ctx, env(t, "E2E_EXPORTER_BIN"), full...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("check %v: timed out", args)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("check %v: %v", args, err)
	}
	return code, string(out)
}

func TestCheckCommand(t *testing.T) {
	for _, c := range []struct {
		host     string
		wantPort int
	}{
		{env(t, "E2E_NS_A"), 465},
		{env(t, "E2E_NS_B"), 2525},
		{env(t, "E2E_NS_C"), 0},
	} {
		c := c
		t.Run(c.host, func(t *testing.T) {
			t.Parallel()
			code, out := runCheck(t, "--module=submission", "--output=json", c.host)
			var rep struct {
				Success bool   `json:"success"`
				Port    int    `json:"submission_port"`
				Verdict string `json:"verdict"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("check --output json: %v\n%s", err, out)
			}
			if rep.Port != c.wantPort || rep.Success != (c.wantPort != 0) {
				t.Errorf("check %s: port %d success %v, want %d\n%s", c.host, rep.Port, rep.Success, c.wantPort, out)
			}
			if (code == 0) != (c.wantPort != 0) {
				t.Errorf("check %s: exit %d\n%s", c.host, code, out)
			}
			if c.wantPort != 0 && !strings.Contains(rep.Verdict, fmt.Sprint(c.wantPort)) {
				t.Errorf("verdict %q does not name port %d", rep.Verdict, c.wantPort)
			}
		})
	}
	t.Run("text and debug, no password", func(t *testing.T) {
		code, out := runCheck(t, "--module=submission_auth", "--debug", env(t, "E2E_NS_A"))
		if code != 0 {
			t.Errorf("exit %d\n%s", code, out)
		}
		if strings.Contains(out, env(t, "E2E_PASSWORD")) || strings.Contains(out, b64(env(t, "E2E_PASSWORD"))) {
			t.Errorf("check --debug reveals the password")
		}
		if !strings.Contains(out, "465") {
			t.Errorf("text report does not name 465:\n%s", out)
		}
		t.Logf("check output:\n%s", out)
	})
}

// The example config's submission job: instance is the bare host.
func TestPrometheusSubmission(t *testing.T) {
	standardLoopbackPorts(t)
	sel := `{job="smtp_submission",vantage=""}` // not the per-vantage jobs
	res := promEventually(t, "probe_smtp_submission_port"+sel, 40*time.Second, func(r []promSeries) bool {
		return len(r) == 1 && r[0].float(t) == 587
	})
	if len(res) != 1 || res[0].float(t) != 587 || res[0].Metric["instance"] != env(t, "E2E_LO_HOST") {
		t.Fatalf("probe_smtp_submission_port%s = %v, want 587 with instance %q", sel, res, env(t, "E2E_LO_HOST"))
	}
	ps := promQuery(t, "probe_success"+sel)
	if len(ps) != 1 || ps[0].float(t) != 1 {
		t.Errorf("probe_success%s = %v", sel, ps)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain runs the suite, then reads both Postfix logs for what the probes
// did to a real server: no DATA, nothing queued, no pipelining violation;
// and the Exim and Dovecot logs likewise (markMTALogs).
// The Alertmanager webhook receiver runs for the whole suite.
func TestMain(m *testing.M) {
	logs := []string{os.Getenv("E2E_MAILLOG_LO"), os.Getenv("E2E_MAILLOG_NS")}
	offsets := make([]int64, len(logs))
	for i, l := range logs {
		offsets[i] = fileSize(l)
	}
	stopWebhook := startWebhook()
	checkMTALogs := markMTALogs()
	code := m.Run()
	stopWebhook()
	if !checkMTALogs() {
		code = 1
	}
	for i, l := range logs {
		if l == "" {
			continue
		}
		lines, err := maillogSince(l, offsets[i])
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: reading Postfix log: %v\n", err)
			code = 1
			continue
		}
		sessions := 0
		for _, line := range lines {
			if disconnectRE.MatchString(line) {
				sessions++
			}
		}
		bad := checkMaillog(lines)
		for _, b := range bad {
			fmt.Fprintf(os.Stderr, "FAIL: Postfix log (%s): %s\n", l, b)
			code = 1
		}
		fmt.Printf("Postfix log %s: %d SMTP sessions checked (no DATA, nothing queued, no pipelining violation): %d problems\n", l, sessions, len(bad))
	}
	os.Exit(code)
}

// ------------------------------------------------------------- endpoints ---

func TestEndpoints(t *testing.T) {
	for _, p := range []string{"/-/ready", "/-/healthy", "/", "/config"} {
		status, body, _, _ := get(t, exporterURL(t, p, nil), nil)
		if status != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, status, body)
		}
		if p == "/config" && !strings.Contains(body, "starttls_untrusted") {
			t.Errorf("GET /config does not show the loaded modules:\n%s", body)
		}
	}

	// One probe first, so the self-metrics have something to count.
	wantSuccess(t, probe(t, env(t, "E2E_LO_SUBMISSION"), "starttls"))

	status, body, _, _ := get(t, exporterURL(t, "/metrics", nil), nil)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	m, err := parseExposition(body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	for _, s := range m.samples {
		if strings.HasPrefix(s.Name, "probe_") {
			t.Errorf("/metrics carries probe metric %s", s)
		}
		if _, ok := s.Labels["target"]; ok {
			t.Errorf("/metrics: %s has a target label", s)
		}
	}
	if !m.has("smtp_exporter_build_info") {
		t.Error("/metrics: no smtp_exporter_build_info")
	}
	if ss := m.find("smtp_exporter_config_last_reload_successful"); len(ss) != 1 || ss[0].Value != 1 {
		t.Errorf("smtp_exporter_config_last_reload_successful = %v, want 1", ss)
	}
	var probes float64
	for _, s := range m.find("smtp_exporter_probes_total", "module", "starttls") {
		if s.Labels["result"] == "" {
			t.Errorf("%s: no result label", s)
		}
		probes += s.Value
	}
	if probes < 1 {
		t.Errorf("smtp_exporter_probes_total{module=\"starttls\"} sums to %v after a probe\n%s", probes, m.dump())
	}
	for _, name := range []string{"smtp_exporter_probes_in_flight", "smtp_exporter_module_unknown_total",
		"smtp_exporter_config_last_reload_success_timestamp_seconds"} {
		if !m.has(name) {
			t.Errorf("/metrics: no %s", name)
		}
	}
}

func TestBadRequests(t *testing.T) {
	lo := env(t, "E2E_LO_SUBMISSION")
	cases := []struct {
		name string
		q    url.Values
	}{
		{"missing target", url.Values{"module": {"starttls"}}},
		{"empty target", url.Values{"target": {""}, "module": {"starttls"}}},
		{"unknown module", url.Values{"target": {lo}, "module": {"no_such_module"}}},
		{"port out of range", url.Values{"target": {"127.0.0.10:70000"}, "module": {"starttls"}}},
		{"unparsable target", url.Values{"target": {"[::1"}, "module": {"starttls"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rawProbe(t, c.q, nil)
			if r.status != http.StatusBadRequest {
				t.Fatalf("want 400: %s", r.context())
			}
			msg := strings.TrimRight(r.body, "\n")
			if msg == "" || strings.Contains(msg, "\n") {
				t.Errorf("want a one-line message: %s", r.context())
			}
		})
	}
}

// ---------------------------------------------------------- real Postfix ---

// 587: STARTTLS required, AUTH only after TLS (smtpd_tls_auth_only).
func TestStartTLSSubmissionPort(t *testing.T) {
	r := probe(t, env(t, "E2E_LO_SUBMISSION"), "starttls")
	wantSuccess(t, r)
	wantPhases(t, r, []string{"resolve", "connect", "greeting", "ehlo", "starttls", "tls", "quit"})
	wantValue(t, r, 220, "probe_smtp_greeting_code")
	wantValue(t, r, 1, "probe_smtp_reachable")
	wantValue(t, r, 4, "probe_ip_protocol")
	wantValue(t, r, 1, "probe_smtp_starttls_advertised")
	wantValue(t, r, 0, "probe_smtp_auth_before_tls")
	wantValue(t, r, 1, "probe_smtp_auth_advertised")
	wantValue(t, r, float64(envInt(t, "E2E_SIZE_LIMIT")), "probe_smtp_size_limit_bytes")
	wantAbsent(t, r, "probe_smtp_auth_success")
	wantAbsent(t, r, "probe_smtp_auth_enforced")
	wantAbsent(t, r, "probe_smtp_submission_port")
	if !r.m.has("probe_dns_lookup_time_seconds") {
		t.Error("no probe_dns_lookup_time_seconds")
	}
	if v := value(t, r, "probe_smtp_duration_seconds", "phase", "resolve"); v > 0.1 {
		t.Errorf("resolve phase %vs for an IP literal", v)
	}
	certChecks(t, r, true)
}

// 2525: configured like 587.
func TestStartTLSAlternatePort(t *testing.T) {
	r := probe(t, env(t, "E2E_LO_ALT"), "starttls")
	wantSuccess(t, r)
	wantPhases(t, r, []string{"resolve", "connect", "greeting", "ehlo", "starttls", "tls", "quit"})
	wantValue(t, r, 0, "probe_smtp_auth_before_tls")
	wantValue(t, r, 1, "probe_smtp_auth_advertised")
	certChecks(t, r, true)
}

// 465: implicit TLS from the first byte, AUTH advertised.
func TestImplicitTLS(t *testing.T) {
	r := probe(t, env(t, "E2E_LO_SMTPS"), "tls")
	wantSuccess(t, r)
	wantPhases(t, r, []string{"resolve", "connect", "tls", "greeting", "ehlo", "quit"})
	wantValue(t, r, 220, "probe_smtp_greeting_code")
	wantValue(t, r, 1, "probe_smtp_auth_advertised")
	// No plaintext EHLO on an implicit-TLS port.
	wantAbsent(t, r, "probe_smtp_starttls_advertised")
	wantAbsent(t, r, "probe_smtp_auth_before_tls")
	wantValue(t, r, float64(envInt(t, "E2E_SIZE_LIMIT")), "probe_smtp_size_limit_bytes")
	certChecks(t, r, true)
}

// 25 with the tcp prober: greeting, EHLO, QUIT; no TLS.
func TestTCPPort25(t *testing.T) {
	r := probe(t, env(t, "E2E_LO_SMTP"), "tcp")
	wantSuccess(t, r)
	wantPhases(t, r, []string{"resolve", "connect", "greeting", "ehlo", "quit"})
	wantValue(t, r, 220, "probe_smtp_greeting_code")
	wantValue(t, r, 1, "probe_smtp_starttls_advertised")
	wantValue(t, r, 0, "probe_smtp_auth_advertised") // no SASL on 25
	wantAbsent(t, r, "probe_tls_version_info")
	wantAbsent(t, r, "probe_ssl_earliest_cert_expiry")
	wantAbsent(t, r, "probe_tls_certificate_verified")
}

// 25 with STARTTLS ("may"): TLS works, no AUTH anywhere.
func TestStartTLSPort25(t *testing.T) {
	r := probe(t, env(t, "E2E_LO_SMTP"), "starttls")
	wantSuccess(t, r)
	wantPhases(t, r, []string{"resolve", "connect", "greeting", "ehlo", "starttls", "tls", "quit"})
	wantValue(t, r, 0, "probe_smtp_auth_before_tls")
	wantValue(t, r, 0, "probe_smtp_auth_advertised")
	certChecks(t, r, true)
}

func TestIPv6Loopback(t *testing.T) {
	target := os.Getenv("E2E_LO6_SMTP")
	if target == "" {
		t.Skip("no ::1 on this machine")
	}
	r := probe(t, target, "starttls_ip6")
	wantSuccess(t, r)
	wantValue(t, r, 6, "probe_ip_protocol")
	certChecks(t, r, true)
}

// Module omitted: chosen by port. Target without port: the prober's default.
func TestDefaults(t *testing.T) {
	host := env(t, "E2E_LO_HOST")
	if port(t, env(t, "E2E_LO_SMTPS")) == "465" {
		r := probe(t, env(t, "E2E_LO_SMTPS"), "")
		wantSuccess(t, r)
		wantPhases(t, r, []string{"resolve", "connect", "tls", "greeting", "ehlo", "quit"})

		// tls without a port: 465 (only 465 speaks TLS from the first byte).
		r = probe(t, host, "tls")
		wantSuccess(t, r)
	} else {
		t.Log("465 taken on this machine; the 465 defaults are not checked")
	}
	if port(t, env(t, "E2E_LO_SUBMISSION")) == "587" {
		r := probe(t, env(t, "E2E_LO_SUBMISSION"), "")
		wantSuccess(t, r)
		wantPhases(t, r, []string{"resolve", "connect", "greeting", "ehlo", "starttls", "tls", "quit"})
		wantValue(t, r, 0, "probe_smtp_auth_before_tls") // 587's answer, not 25's
		wantValue(t, r, 1, "probe_smtp_auth_advertised")

		r = probe(t, host, "starttls") // 587
		wantSuccess(t, r)
		wantValue(t, r, 1, "probe_smtp_auth_advertised")
	}
	if port(t, env(t, "E2E_LO_SMTP")) == "25" {
		r := probe(t, host, "tcp") // 25: no AUTH there
		wantSuccess(t, r)
		wantValue(t, r, 0, "probe_smtp_auth_advertised")
	}
}

// The untrusted module has no CA: the chain does not verify, yet the expiry
// of what was presented is still reported.
func TestUntrustedCertificate(t *testing.T) {
	for _, c := range []struct{ target, module string }{
		{env(t, "E2E_LO_SUBMISSION"), "starttls_untrusted"},
		{env(t, "E2E_LO_SMTPS"), "tls_untrusted"},
	} {
		t.Run(c.module, func(t *testing.T) {
			r := probe(t, c.target, c.module)
			wantFailure(t, r, "tls", "cert_untrusted")
			certChecks(t, r, false)
			if c.module == "starttls_untrusted" {
				wantValue(t, r, 220, "probe_smtp_greeting_code") // before STARTTLS
			} else {
				wantAbsent(t, r, "probe_smtp_greeting_code") // 465: the greeting comes after TLS
			}
		})
	}
}

// Port 25 is opportunistic TLS: Postfix's certificate, from a CA the module
// does not trust, is reported (verified 0, its reason) without failing the
// probe, as senders deliver over it; tls_verification: strict fails it, and
// opportunistic does the same anywhere.
func TestOpportunisticTLS(t *testing.T) {
	smtp := env(t, "E2E_LO_SMTP")
	lenient := []string{"starttls_opportunistic"}
	if port(t, smtp) == "25" {
		lenient = append(lenient, "starttls_untrusted") // by its port alone
	} else {
		t.Log("25 taken on this machine; only tls_verification: opportunistic is checked")
	}
	for _, module := range lenient {
		r := probe(t, smtp, module)
		wantSuccess(t, r)
		wantValue(t, r, 0, "probe_tls_certificate_verified")
		wantValue(t, r, 1, "probe_tls_certificate_verify_error_info", "reason", "cert_untrusted")
		wantAbsent(t, r, "probe_smtp_failure")
	}
	r := probe(t, smtp, "starttls_strict")
	wantFailure(t, r, "tls", "cert_untrusted")
	r = probe(t, env(t, "E2E_LO_SUBMISSION"), "starttls_opportunistic") // 587, told to be lenient
	wantSuccess(t, r)
	wantValue(t, r, 0, "probe_tls_certificate_verified")
}

func TestCertificateHostnameMismatch(t *testing.T) {
	r := probe(t, env(t, "E2E_LO_SUBMISSION"), "starttls_wronghost")
	wantFailure(t, r, "tls", "cert_hostname")
	certChecks(t, r, false)
}

// Nothing listening (a namespace address without listeners): RST.
func TestClosedPort(t *testing.T) {
	r := probe(t, env(t, "E2E_NS_C")+":25", "tcp_short")
	wantFailure(t, r, "connect", "refused")
	wantValue(t, r, 0, "probe_smtp_reachable")
	wantAbsent(t, r, "probe_smtp_greeting_code")
}

// ------------------------------------------------------- firewalled netns ---

// 587 behind an iptables DROP: the "blocked by the network" case.
func TestFirewallDrop(t *testing.T) {
	timeout := envSeconds(t, "E2E_DROP_TIMEOUT")
	nsA, nsB := env(t, "E2E_NS_A"), env(t, "E2E_NS_B")
	for _, c := range []struct{ target, module string }{
		{nsA + ":587", "starttls_short"},
		{nsB + ":465", "tcp_short"},
	} {
		c := c
		t.Run(c.target, func(t *testing.T) {
			t.Parallel()
			r := probe(t, c.target, c.module)
			wantFailure(t, r, "connect", "timeout")
			wantValue(t, r, 0, "probe_smtp_reachable")
			wantAbsent(t, r, "probe_smtp_greeting_code")
			wantAbsent(t, r, "probe_tls_version_info")
			if r.elapsed > timeout+time.Second {
				t.Errorf("request took %v, module timeout is %v", r.elapsed, timeout)
			}
			if d := value(t, r, "probe_duration_seconds"); d > (timeout + 500*time.Millisecond).Seconds() {
				t.Errorf("probe_duration_seconds %v, module timeout is %v", d, timeout)
			}
		})
	}
	// Prometheus's scrape timeout header shortens the deadline below the
	// module timeout: 2s - the default 0.5s offset.
	t.Run("scrape timeout header", func(t *testing.T) {
		t.Parallel()
		h := http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"2"}}
		r := probeWith(t, nsA+":587", "starttls_short", h)
		wantFailure(t, r, "connect", "timeout")
		if r.elapsed > 2*time.Second+500*time.Millisecond {
			t.Errorf("request took %v with a 2s scrape timeout (deadline 1.5s)", r.elapsed)
		}
	})
}

// 2525 behind REJECT --reject-with tcp-reset, a listener behind it.
func TestFirewallReject(t *testing.T) {
	r := probe(t, env(t, "E2E_NS_A")+":2525", "starttls_short")
	wantFailure(t, r, "connect", "refused")
	wantValue(t, r, 0, "probe_smtp_reachable")
	if r.elapsed > time.Second {
		t.Errorf("a reset took %v to report", r.elapsed)
	}
}

// The open ports in the namespace work through the veth pair.
func TestNamespaceOpenPorts(t *testing.T) {
	nsA, nsB := env(t, "E2E_NS_A"), env(t, "E2E_NS_B")
	r := probe(t, nsA+":465", "tls")
	wantSuccess(t, r)
	certChecks(t, r, true)
	wantSuccess(t, probe(t, nsA+":25", "tcp"))
	r = probe(t, nsB+":2525", "starttls")
	wantSuccess(t, r)
	wantValue(t, r, 1, "probe_smtp_auth_advertised")
}

// ------------------------------------------------------------------ debug ---

func TestDebugTranscript(t *testing.T) {
	q := url.Values{"target": {env(t, "E2E_LO_SUBMISSION")}, "module": {"starttls"}, "debug": {"true"}}
	status, body, h, _ := get(t, exporterURL(t, "/probe", q), nil)
	if status != http.StatusOK {
		t.Fatalf("debug probe: %d\n%s", status, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	for _, want := range []string{"S: 220 mail.e2e.test ESMTP", "C: EHLO probe.e2e.test", "C: STARTTLS", "S: 250-AUTH PLAIN LOGIN CRAM-MD5", "C: QUIT", "probe_success 1", "starttls"} {
		if !strings.Contains(body, want) {
			t.Errorf("debug output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("debug output:\n%s", body)
	}
}

// -------------------------------------------------------------- Prometheus ---

// Prometheus runs the scrape config from examples/prometheus.yml (addresses
// substituted by run.sh) and must store the series under the target's
// instance label. The same Prometheus also runs the per-vantage jobs of
// examples/prometheus-vantages.yml, whose job labels are the same names:
// vantage="" selects this file's series.
func TestPrometheusScrape(t *testing.T) {
	jobs := []struct{ job, instance string }{
		{"smtp_starttls", env(t, "E2E_LO_SUBMISSION")},
		{"smtp_tls", env(t, "E2E_LO_SMTPS")},
	}
	for _, j := range jobs {
		t.Run(j.job, func(t *testing.T) {
			sel := fmt.Sprintf(`{job=%q,vantage=""}`, j.job)
			res := promEventually(t, "probe_success"+sel, 40*time.Second, func(r []promSeries) bool {
				return len(r) == 1 && r[0].float(t) == 1
			})
			if len(res) != 1 {
				t.Fatalf("probe_success%s: %d series, want 1: %v", sel, len(res), res)
			}
			s := res[0]
			if s.Metric["instance"] != j.instance {
				t.Errorf("instance = %q, want the target %q", s.Metric["instance"], j.instance)
			}
			if _, ok := s.Metric["target"]; ok {
				t.Errorf("series has a target label: %v", s.Metric)
			}
			if v := s.float(t); v != 1 {
				t.Errorf("probe_success = %v, want 1", v)
			}
			up := promQuery(t, "up"+sel)
			if len(up) != 1 || up[0].float(t) != 1 || up[0].Metric["instance"] != j.instance {
				t.Errorf("up%s = %v, want 1 with instance %q", sel, up, j.instance)
			}
			exp := promQuery(t, "probe_ssl_earliest_cert_expiry"+sel)
			if len(exp) != 1 || exp[0].float(t) != float64(envInt(t, "E2E_CERT_NOT_AFTER")) {
				t.Errorf("probe_ssl_earliest_cert_expiry%s = %v, want %d", sel, exp, envInt(t, "E2E_CERT_NOT_AFTER"))
			}
			ph := promQuery(t, fmt.Sprintf(`probe_smtp_duration_seconds{job=%q,vantage="",phase="tls"}`, j.job))
			if len(ph) != 1 || ph[0].Metric["instance"] != j.instance {
				t.Errorf("probe_smtp_duration_seconds{phase=\"tls\"}%s = %v", sel, ph)
			}
		})
	}
	t.Run("smtp_exporter", func(t *testing.T) {
		res := promEventually(t, `up{job="smtp_exporter",vantage=""}`, 40*time.Second, func(r []promSeries) bool {
			return len(r) == 1 && r[0].float(t) == 1
		})
		if len(res) != 1 || res[0].float(t) != 1 || res[0].Metric["instance"] != env(t, "E2E_EXPORTER") {
			t.Fatalf(`up{job="smtp_exporter",vantage=""} = %v`, res)
		}
		bi := promQuery(t, `smtp_exporter_build_info{job="smtp_exporter",vantage=""}`)
		if len(bi) != 1 {
			t.Errorf("smtp_exporter_build_info: %v", bi)
		}
	})
}

// A server that refuses the client at connect time (Postfix with
// smtpd_delay_reject=no) greets with 554.
func TestGreetingRefused(t *testing.T) {
	r := probe(t, env(t, "E2E_LO_REFUSE"), "tcp")
	wantFailure(t, r, "greeting", "unexpected_code")
	wantValue(t, r, 554, "probe_smtp_greeting_code")
	wantValue(t, r, 554, "probe_smtp_failure_reply_code")
	wantValue(t, r, 1, "probe_smtp_reachable")
}

// POST /-/reload: a bad file keeps the old config, answers 500 and sets the
// reload gauge to 0; the good file again restores it.
func TestReload(t *testing.T) {
	cfg := env(t, "E2E_CONFIG_FILE")
	good, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reload := func() (int, string) {
		t.Helper()
		resp, err := httpClient.Post(exporterURL(t, "/-/reload", nil), "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Status)
		return resp.StatusCode, b.String()
	}
	gauge := func() float64 {
		t.Helper()
		_, body, _, _ := get(t, exporterURL(t, "/metrics", nil), nil)
		m, err := parseExposition(body)
		if err != nil {
			t.Fatal(err)
		}
		ss := m.find("smtp_exporter_config_last_reload_successful")
		if len(ss) != 1 {
			t.Fatalf("smtp_exporter_config_last_reload_successful: %v", ss)
		}
		return ss[0].Value
	}
	t.Cleanup(func() {
		if err := os.WriteFile(cfg, good, 0o644); err != nil {
			t.Error(err)
		}
		if code, _ := reload(); code != http.StatusOK {
			t.Errorf("restoring the config: reload answered %d", code)
		}
	})

	if status, _, _, _ := get(t, exporterURL(t, "/-/reload", nil), nil); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", status)
	}
	if code, s := reload(); code != http.StatusOK {
		t.Fatalf("POST /-/reload with the good file: %s", s)
	}
	if err := os.WriteFile(cfg, []byte("modules:\n  x:\n    prober: nope\n    no_such_key: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, s := reload(); code != http.StatusInternalServerError {
		t.Errorf("POST /-/reload with a bad file: %s, want 500", s)
	}
	if g := gauge(); g != 0 {
		t.Errorf("reload gauge %v after a bad reload, want 0", g)
	}
	// The old config still serves.
	wantSuccess(t, probe(t, env(t, "E2E_LO_SUBMISSION"), "starttls"))

	if err := os.WriteFile(cfg, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, s := reload(); code != http.StatusOK {
		t.Fatalf("POST /-/reload with the good file again: %s", s)
	}
	if g := gauge(); g != 1 {
		t.Errorf("reload gauge %v after a good reload, want 1", g)
	}
}

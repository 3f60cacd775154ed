package web

import (
	"bytes"
	"fmt"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
	"github.com/smtp-exporter/smtp_exporter/runner"
	"net"
	"strings"
	"testing"
	"time"
)

// TestProbeMXOverHTTP: /probe with an mx module, its DNS answered on
// loopback by a test server, one MX host on 127.0.0.1 and one refusing.
func TestProbeMXOverHTTP(t *testing.T) {
	ca := smtptest.NewCA(t)
	now := time.Now()
	lns := smtptest.ListenOnOnePort(t, "127.0.0.1", "127.0.25.9")
	port := lns[0].Addr().(*net.TCPAddr).Port
	lns[1].Close()
	cert := ca.Issue(t, []string{"mx1.example.test"}, now.Add(-time.Hour), now.Add(time.Hour))
	smtptest.NewServer(t, smtptest.Options{Listener: lns[0], Cert: &cert})
	dns := smtptest.NewDNSServer(t)
	dns.Add(t, "example.test. 300 IN MX 10 mx1.example.test.", "example.test. 300 IN MX 20 mx2.example.test.",
		"mx1.example.test. 300 IN A 127.0.0.1", "mx2.example.test. 300 IN A 127.0.25.9")

	s := newTestServer(t, fmt.Sprintf(`
modules:
  mx:
    prober: mx
    timeout: 5s
    dns_resolver: %s
    mx: {port: %d}
    tls_config: {ca_file: %s}
`, dns.Addr, port, ca.PEMFile(t)))
	code, body, _ := s.get(t, "/probe?module=mx&target=example.test")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	for _, want := range []string{
		"probe_success 0\n", "probe_smtp_mx_hosts 2\n", "probe_smtp_mx_hosts_working 1\n",
		`probe_smtp_failure{mx="mx2.example.test",phase="connect",preference="20",reason="refused"} 1`,
		`probe_tls_certificate_verified{mx="mx1.example.test",preference="10"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
	if code, body, _ := s.get(t, "/probe?module=mx&target=example.test:25"); code != 400 || !strings.Contains(body, "without a port") {
		t.Errorf("a port to the mx prober: %d %s", code, body)
	}
}

// TestProbeMXForbiddenHost: the domain's DNS names only an MX host outside
// allowed_targets: 403, and no connection to it.
func TestProbeMXForbiddenHost(t *testing.T) {
	port, accepted := countingListener(t)
	dns := smtptest.NewDNSServer(t)
	dns.Add(t, "example.test. 300 IN MX 10 internal.corp.test.", "internal.corp.test. 300 IN A 127.0.0.1")
	s := newTestServer(t, fmt.Sprintf(`
allowed_targets: ["*.example.test", "192.0.2.0/24"]
modules:
  mx:
    prober: mx
    timeout: 5s
    dns_resolver: %s
    mx: {port: %d}
`, dns.Addr, port))
	if code, body, _ := s.get(t, "/probe?module=mx&target=example.test"); code != 403 {
		t.Errorf("status %d, want 403: %s", code, body)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections to the forbidden MX host", n)
	}
}

// TestProbeMXPartlyForbidden: a backup MX outside allowed_targets does not
// turn the whole probe into a 403: it fails with reason forbidden, undialled.
func TestProbeMXPartlyForbidden(t *testing.T) {
	port, accepted := countingListener(t)
	dns := smtptest.NewDNSServer(t)
	dns.Add(t, "example.test. 300 IN MX 10 mx1.example.test.", "example.test. 300 IN MX 20 backup.corp.test.",
		"mx1.example.test. 300 IN A 127.0.0.2", "backup.corp.test. 300 IN A 127.0.0.1")
	s := newTestServer(t, fmt.Sprintf(`
allowed_targets: ["*.example.test"]
modules:
  mx:
    prober: mx
    timeout: 2s
    dns_resolver: %s
    mx: {port: %d}
`, dns.Addr, port))
	code, body, _ := s.get(t, "/probe?module=mx&target=example.test")
	if code != 200 || !strings.Contains(body, `probe_smtp_failure{mx="backup.corp.test",phase="resolve",preference="20",reason="forbidden"} 1`) {
		t.Errorf("status %d, want 200 with the backup MX forbidden:\n%s", code, body)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections to the forbidden backup MX on 127.0.0.1", n)
	}
}

// TestProbeNegotiatesFormat: /probe answers each scraper in the format it asks for.
func TestProbeNegotiatesFormat(t *testing.T) {
	s := newTestServer(t, testConfig(refusedPort(t)))
	for accept, want := range map[string]expfmt.FormatType{
		"":           expfmt.TypeTextPlain,
		"text/plain": expfmt.TypeTextPlain,
		"application/openmetrics-text;version=1.0.0":                                                 expfmt.TypeOpenMetrics,
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited": expfmt.TypeProtoDelim,
	} {
		_, body, header := s.get(t, "/probe?module=tcp&target=127.0.0.1:1", "Accept", accept)
		got := expfmt.Format(header.Get("Content-Type"))
		if got.FormatType() != want {
			t.Errorf("Accept %q: content type %q, want format %v", accept, got, want)
		}
		if !probeSuccessIn(t, body, got) {
			t.Errorf("Accept %q: no probe_success in the answer:\n%q", accept, body)
		}
	}
}

// probeSuccessIn decodes an answer and reports whether it has probe_success.
func probeSuccessIn(t *testing.T, body string, f expfmt.Format) bool {
	t.Helper()
	if f.FormatType() != expfmt.TypeProtoDelim {
		return bytes.Contains([]byte(body), []byte("\nprobe_success 0\n")) || bytes.Contains([]byte(body), []byte("\nprobe_success 0.0\n"))
	}
	dec := expfmt.NewDecoder(bytes.NewReader([]byte(body)), f)
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			return false
		}
		if mf.GetName() == "probe_success" {
			return mf.Metric[0].GetGauge().GetValue() == 0
		}
	}
}

// TestTranscriptOfVerboseServer: /probe?debug=true of a server answering
// with 100 lines of 2 kB keeps the first lines, why the probe failed, and
// says what it left out.
func TestTranscriptOfVerboseServer(t *testing.T) {
	ca := smtptest.NewCA(t)
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, Verbose: true}) // a CA the module does not trust
	s := newTestServer(t, testConfig(refusedPort(t)))
	_, body, _ := s.get(t, "/probe?module=starttls&debug=true&target="+srv.Addr)
	transcript := body[:strings.Index(body, "Metrics that would have been returned")]
	for _, want := range []string{"DEBUG S: 220-smtptest ESMTP\n", "INFO  probe step failed phase=tls reason=cert_untrusted",
		"INFO  probe failed", "\n… transcript truncated: "} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript has no %q", want)
		}
	}
	if len(transcript) > runner.DefaultTranscriptMaxBytes+1000 {
		t.Errorf("transcript of %d bytes, budget %d", len(transcript), runner.DefaultTranscriptMaxBytes)
	}
}

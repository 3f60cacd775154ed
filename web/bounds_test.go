package web

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// TestProbeMXForbiddenHostsPolicyAllowed: every MX host is outside
// allowed_targets but the MTA-STS policy host is inside and was fetched: a
// connection was made, so no 403 but a 200 with the MX host forbidden.
func TestProbeMXForbiddenHostsPolicyAllowed(t *testing.T) {
	port, accepted := countingListener(t)
	ca := smtptest.NewCA(t)
	cert := ca.Issue(t, []string{"mta-sts.example.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	ln, err := net.Listen("tcp", "127.0.25.50:0")
	if err != nil {
		t.Fatal(err)
	}
	fetched := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "version: STSv1\nmode: enforce\nmx: mx1.corp.test\nmax_age: 86400\n")
		fetched <- struct{}{}
	}))
	srv.Listener.Close()
	srv.Listener, srv.TLS = ln, &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dns := smtptest.NewDNSServer(t)
	dns.Add(t, "example.test. 300 IN MX 10 mx1.corp.test.", "mx1.corp.test. 300 IN A 127.0.0.1",
		`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=1"`, "mta-sts.example.test. 300 IN A 127.0.25.50")
	s := newTestServer(t, fmt.Sprintf(`
allowed_targets: ["*.example.test"]
modules:
  mx:
    prober: mx
    timeout: 5s
    dns_resolver: %s
    mx: {port: %d, mta_sts: true, mta_sts_port: %d}
    tls_config: {ca_file: %s}
`, dns.Addr, port, ln.Addr().(*net.TCPAddr).Port, ca.PEMFile(t)))

	code, body, _ := s.get(t, "/probe?module=mx&target=example.test")
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200: the policy host was dialled\n%s", code, body)
	}
	for _, want := range []string{
		`probe_smtp_failure{mx="mx1.corp.test",phase="resolve",preference="10",reason="forbidden"} 1`,
		`probe_smtp_mta_sts_mode_info{mode="enforce"} 1`, "probe_success 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
	select {
	case <-fetched:
	default:
		t.Error("the policy was not fetched")
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections to the forbidden MX host", n)
	}
	if got := testutil.ToFloat64(s.h.Metrics.rejected.WithLabelValues("target_forbidden")); got != 0 {
		t.Errorf("rejected{target_forbidden} = %v, want 0", got)
	}
}

// TestProbePanicIsAFailedProbe: a prober that panics is answered 200 with
// probe_success 0 and reason internal; the panic is counted and logged with
// its stack at error level, and the exporter goes on serving.
func TestProbePanicIsAFailedProbe(t *testing.T) {
	s := newTestServer(t, "modules:\n  tcp:\n    prober: tcp\n    timeout: 2s\n")
	var logs syncBuffer
	s.h.Runner.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	s.h.Runner.Probe = func(context.Context, prober.Target, config.Module, *slog.Logger) *prober.Result {
		panic("forced panic")
	}
	for range 2 {
		code, body, _ := s.get(t, "/probe?module=tcp&target=127.0.0.1:25")
		if code != http.StatusOK || !strings.Contains(body, "probe_success 0\n") ||
			!strings.Contains(body, `probe_smtp_failure{phase="resolve",reason="internal"} 1`) {
			t.Fatalf("status %d, want 200 with a failure of reason internal:\n%s", code, body)
		}
	}
	if got := testutil.ToFloat64(s.h.Metrics.panics); got != 2 {
		t.Errorf("smtp_exporter_probe_panics_total = %v, want 2", got)
	}
	if got := testutil.ToFloat64(s.h.Metrics.probes.WithLabelValues("tcp", "failure")); got != 2 {
		t.Errorf("probes_total{result=failure} = %v, want 2", got)
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "forced panic") || !strings.Contains(out, "bounds_test.go") {
		t.Errorf("process log lacks the panic at error level with its stack:\n%s", out)
	}
}

// TestConnectionBoundOverHTTP: with --probe.max-connections=1, a second probe
// waits for the connection a first one holds and fails at connect with a
// timeout inside its own deadline; the self-metrics show the held
// connection and the wait.
func TestConnectionBoundOverHTTP(t *testing.T) {
	port, accepted := countingListener(t)
	s := newTestServer(t, "modules:\n  long:\n    prober: tcp\n    timeout: 3s\n  short:\n    prober: tcp\n    timeout: 500ms\n")
	s.h.Runner.Conns = prober.NewConnLimiter(1)
	RegisterConnMetrics(s.reg, s.h.Runner.Conns)

	var wg sync.WaitGroup
	wg.Go(func() { s.get(t, fmt.Sprintf("/probe?module=long&target=127.0.0.1:%d", port)) })
	for i := 0; accepted.Load() == 0; i++ {
		if i > 200 {
			t.Fatal("first probe never connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	code, body, _ := s.get(t, fmt.Sprintf("/probe?module=short&target=127.0.0.1:%d", port))
	if code != http.StatusOK || !strings.Contains(body, `probe_smtp_failure{phase="connect",reason="timeout"} 1`) {
		t.Errorf("second probe: status %d, want 200 with connect/timeout:\n%s", code, body)
	}
	want := `
# HELP smtp_exporter_connection_waits_total Probe dials that found every connection slot taken (--probe.max-connections), by how the wait ended: acquired a slot, or the probe's deadline came first (connect/timeout).
# TYPE smtp_exporter_connection_waits_total counter
smtp_exporter_connection_waits_total{result="acquired"} 0
smtp_exporter_connection_waits_total{result="deadline"} 1
# HELP smtp_exporter_connections_open TCP connections the probes hold now (SMTP and the MTA-STS fetch), at most --probe.max-connections.
# TYPE smtp_exporter_connections_open gauge
smtp_exporter_connections_open 1
`
	if err := testutil.GatherAndCompare(s.reg, strings.NewReader(want), "smtp_exporter_connection_waits_total", "smtp_exporter_connections_open"); err != nil {
		t.Error(err)
	}
	wg.Wait()
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d connections accepted, want 1: the second probe never got a slot", n)
	}
	if got := testutil.ToFloat64(s.h.Metrics.panics); got != 0 {
		t.Errorf("panics %v", got)
	}
	if open := s.h.Runner.Conns.Open(); open != 0 {
		t.Errorf("%d connections still counted open after both probes", open)
	}
}

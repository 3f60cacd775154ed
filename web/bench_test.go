package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
	"github.com/smtp-exporter/smtp_exporter/runner"
)

// BenchmarkProbeHandler is one /probe of a STARTTLS server, end to end in
// process (the fake server's CPU is included: compare runs, not absolutes).
func BenchmarkProbeHandler(b *testing.B) {
	ca := smtptest.NewCA(b)
	cert := ca.Issue(b, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	srv := smtptest.NewServer(b, smtptest.Options{Cert: &cert, GreetAtOnce: true})
	cfgPath := filepath.Join(b.TempDir(), "c.yml")
	if err := os.WriteFile(cfgPath, []byte("modules:\n  bench:\n    prober: starttls\n    smtp: {ehlo: bench.test}\n    tls_config: {ca_file: "+ca.PEMFile(b)+"}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	sc := config.NewSafeConfig(cfgPath, prometheus.NewRegistry())
	if err := sc.Reload(); err != nil {
		b.Fatal(err)
	}
	h := &Handler{Config: sc, Runner: &runner.Runner{Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		ProberLevel: slog.LevelDebug}, History: NewHistory(100), Metrics: NewSelfMetrics(prometheus.NewRegistry())}
	url := "/probe?module=bench&target=127.0.0.1:" + strconv.Itoa(srv.Port)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkProbeHandlerOverhead is what /probe costs besides the SMTP
// dialogue: the request, the runner and its transcript (twenty lines, as a
// STARTTLS dialogue logs), the history, the exposition in OpenMetrics (what
// Prometheus negotiates); the probe itself returns a canned Result at once.
func BenchmarkProbeHandlerOverhead(b *testing.B) {
	cfgPath := filepath.Join(b.TempDir(), "c.yml")
	if err := os.WriteFile(cfgPath, []byte("modules:\n  bench:\n    prober: starttls\n    smtp: {ehlo: bench.test}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	sc := config.NewSafeConfig(cfgPath, prometheus.NewRegistry())
	if err := sc.Reload(); err != nil {
		b.Fatal(err)
	}
	canned := func(_ context.Context, _ prober.Target, _ config.Module, logger *slog.Logger) *prober.Result {
		for range 20 {
			prober.Log(logger, slog.LevelDebug, "S: 250-smtp.example.test at your service")
		}
		return cannedSuccess()
	}
	h := &Handler{Config: sc, Runner: &runner.Runner{Logger: promslog.New(&promslog.Config{}), ProberLevel: slog.LevelDebug, Probe: canned},
		History: NewHistory(100), Metrics: NewSelfMetrics(prometheus.NewRegistry())}
	req := httptest.NewRequest(http.MethodGet, "/probe?module=bench&target=127.0.0.1:587", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.2")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	w := &discardResponse{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		h.ServeHTTP(w, req)
	}
}

// discardResponse is a ResponseWriter that keeps nothing but its headers.
type discardResponse struct{ header http.Header }

func (w *discardResponse) Header() http.Header         { return w.header }
func (w *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardResponse) WriteHeader(int)             {}

// cannedSuccess is a STARTTLS probe that passed, as the benchmark's server gives.
func cannedSuccess() *prober.Result {
	ms := func(n int) time.Duration { return time.Duration(n) * 100 * time.Microsecond }
	yes, no, size := true, false, int64(10240000)
	return &prober.Result{IPProtocol: 4, Reachable: true, GreetingCode: 220,
		Timings: []prober.Timing{{Phase: prober.PhaseConnect, Duration: ms(1)}, {Phase: prober.PhaseGreeting, Duration: ms(2)},
			{Phase: prober.PhaseEHLO, Duration: ms(2)}, {Phase: prober.PhaseStartTLS, Duration: ms(1)}, {Phase: prober.PhaseTLS, Duration: ms(12)},
			{Phase: prober.PhaseEHLO, Duration: ms(2)}, {Phase: prober.PhaseQuit, Duration: ms(2)}},
		StartTLSAdvertised: &yes, AuthAdvertised: &no, AuthBeforeTLS: &no, SizeLimit: &size,
		TLS: &prober.TLSInfo{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", Verified: true,
			EarliestExpiry: time.Unix(1796373445, 0), LeafExpiry: time.Unix(1796373445, 0), ChainExpiry: time.Unix(1796373445, 0),
			Leaf: prober.LeafInfo{FingerprintSHA256: "546792f225e94c244a48a8b817575138b88561d218c7e7c2dcc0674fd5ad60d9",
				Subject: "CN=127.0.0.1", Issuer: "CN=smtptest CA", SubjectAlt: "127.0.0.1", Serial: "17dae9af2cb46f13"}}}
}

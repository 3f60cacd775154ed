package web

import (
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

	"github.com/smtp-exporter/smtp_exporter/config"
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

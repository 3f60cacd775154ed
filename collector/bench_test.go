package collector

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// BenchmarkExposition is the metrics half of a probe as /probe does it.
func BenchmarkExposition(b *testing.B) {
	res := starttlsSuccess()
	b.ReportAllocs()
	for b.Loop() {
		_ = Encode(io.Discard, TextFormat, Families(res, 10*time.Millisecond))
	}
}

// BenchmarkExpositionRegistry is the same through a fresh registry and promhttp, for comparison.
func BenchmarkExpositionRegistry(b *testing.B) {
	res := starttlsSuccess()
	b.ReportAllocs()
	for b.Loop() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(probeMetrics{res: res, durationSeconds: 0.01})
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe", nil))
	}
}

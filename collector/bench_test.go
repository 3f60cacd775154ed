package collector

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// BenchmarkExposition is the metrics half of a probe as /probe does it:
// the families, then OpenMetrics (what Prometheus negotiates) into a
// buffer that /probe reuses.
func BenchmarkExposition(b *testing.B) {
	res := starttlsSuccess()
	h := http.Header{"Accept": {"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.2"}}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		x := Families(res, 10*time.Millisecond)
		if buf, err = x.Append(buf[:0], Negotiate(h)); err != nil {
			b.Fatal(err)
		}
		x.Release()
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
		req := httptest.NewRequest(http.MethodGet, "/probe", nil)
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.2")
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true, EnableOpenMetrics: true}).ServeHTTP(rec, req)
	}
}

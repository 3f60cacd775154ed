package collector

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// TestFamiliesMatchRegistry: /probe's direct families must expose exactly
// what a fresh registry with the same collector exposes, in every format.
func TestFamiliesMatchRegistry(t *testing.T) {
	for name, res := range map[string]*prober.Result{
		"starttls success": starttlsSuccess(), "greeting failure": greetingFailure(), "untrusted": untrustedCert(),
		"submission": submissionResult(), "mx": mxResult(), "all addresses": allAddressesResult(), "null mx": nullMXResult(),
		"nothing observed": {},
	} {
		p := probeMetrics{res: res, durationSeconds: 0.25}
		for _, accept := range []string{"", "application/openmetrics-text;version=1.0.0", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"} {
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(p)
			want := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/probe", nil)
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true}).ServeHTTP(want, req)
			got := httptest.NewRecorder()
			if err := writeFamilies(got, req, p.families()); err != nil {
				t.Fatal(err)
			}
			if want.Header().Get("Content-Type") != got.Header().Get("Content-Type") || !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
				t.Errorf("%s, Accept %q: direct families differ from the registry's:\n--- registry (%s)\n%s\n--- direct (%s)\n%s",
					name, accept, want.Header().Get("Content-Type"), want.Body, got.Header().Get("Content-Type"), got.Body)
			}
		}
	}
}

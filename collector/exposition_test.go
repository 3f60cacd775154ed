package collector

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// TestExpositionMatchesRegistry: in every format /probe negotiates, the
// families must encode to the bytes (and content type) a fresh registry
// with the same metrics gives through promhttp.
func TestExpositionMatchesRegistry(t *testing.T) {
	tricky := starttlsSuccess()
	tricky.TLS.Leaf.Subject = `CN=mail "quoted" \back\slash` + "\nnewline,O=Ünïcödé"
	tricky.TLS.Cipher = ""
	accepts := map[string]string{
		"none":        "",
		"text":        "text/plain;version=0.0.4",
		"openmetrics": "application/openmetrics-text;version=1.0.0",
		"protobuf":    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		"prometheus":  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3",
	}
	for name, res := range map[string]*prober.Result{
		"starttls success": starttlsSuccess(), "greeting failure": greetingFailure(), "untrusted": untrustedCert(),
		"submission": submissionResult(), "mx": mxResult(), "all addresses": allAddressesResult(), "null mx": nullMXResult(),
		"nothing observed": {}, "escaping": tricky,
	} {
		for format, accept := range accepts {
			req := httptest.NewRequest(http.MethodGet, "/probe", nil)
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(probeMetrics{res: res, durationSeconds: 0.25})
			want := httptest.NewRecorder()
			promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true, EnableOpenMetrics: true}).ServeHTTP(want, req)

			f := Negotiate(req.Header)
			var got bytes.Buffer
			if err := Encode(&got, f, Families(res, 250*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if want.Header().Get("Content-Type") != string(f) {
				t.Errorf("%s, %s: registry content type %q, ours %q", name, format, want.Header().Get("Content-Type"), f)
			}
			if !bytes.Equal(want.Body.Bytes(), got.Bytes()) {
				t.Errorf("%s, %s: our exposition differs from the registry's:\n--- registry\n%s\n--- ours\n%s", name, format, want.Body, got.Bytes())
			}
		}
	}
}

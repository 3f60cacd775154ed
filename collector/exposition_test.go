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
		// Prometheus 3's default scrape protocols, and each of their formats alone.
		"prometheus 3": "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4," +
			"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
		"openmetrics 0.0.1":     "application/openmetrics-text;version=0.0.1",
		"text 1.0.0 utf-8":      "text/plain;version=1.0.0;escaping=allow-utf-8",
		"text underscores":      "text/plain;version=1.0.0;escaping=underscores",
		"openmetrics dots":      "application/openmetrics-text;version=1.0.0;escaping=dots",
		"openmetrics values":    "application/openmetrics-text;version=1.0.0;escaping=values",
		"protobuf text":         "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
		"protobuf compact-text": "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text",
		"protobuf utf-8":        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8",
		"anything":              "*/*",
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

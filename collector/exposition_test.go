package collector

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

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
		"nothing observed": {}, "escaping": tricky, "posture": postureResult(), "tls-rpt": tlsrptResult(),
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
			x := Families(res, 250*time.Millisecond)
			if err := Encode(&got, f, x); err != nil {
				t.Fatal(err)
			}
			x.Release() // the next case reuses it: what one probe left must not show in the next
			if want.Header().Get("Content-Type") != f.ContentType() {
				t.Errorf("%s, %s: registry content type %q, ours %q", name, format, want.Header().Get("Content-Type"), f.ContentType())
			}
			if !bytes.Equal(want.Body.Bytes(), got.Bytes()) {
				t.Errorf("%s, %s: our exposition differs from the registry's:\n--- registry\n%s\n--- ours\n%s", name, format, want.Body, got.Bytes())
			}
		}
	}
}

// TestNegotiateCached: Negotiate answers as expfmt does, the first time and
// from its cache, and keeps no more than maxNegotiated Accept headers
// however many distinct ones clients send.
func TestNegotiateCached(t *testing.T) {
	for i := range 3 * maxNegotiated {
		h := http.Header{}
		h.Set("Accept", fmt.Sprintf("application/openmetrics-text;version=1.0.0;q=0.%d,text/plain;version=0.0.4;q=0.1", i%10+1))
		if i%2 == 1 {
			h.Set("Accept", fmt.Sprintf("text/plain;version=0.0.4;q=0.%d;x=%d", i%10+1, i))
		}
		want := FormatOf(expfmt.NegotiateIncludingOpenMetrics(h))
		for range 2 {
			if got := Negotiate(h); got != want {
				t.Fatalf("Accept %q: %+v, want %+v", h.Get("Accept"), got, want)
			}
		}
	}
	kept := 0
	negotiated.Range(func(any, any) bool { kept++; return true })
	if kept > maxNegotiated {
		t.Errorf("%d Accept headers cached, at most %d wanted", kept, maxNegotiated)
	}
}

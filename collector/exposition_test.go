package collector

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
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

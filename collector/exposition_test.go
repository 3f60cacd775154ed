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

// TestExpositionMatchesRegistry: /probe's own text writer must produce the
// bytes (and content type) a fresh registry with the same collector produces.
func TestExpositionMatchesRegistry(t *testing.T) {
	tricky := starttlsSuccess()
	tricky.TLS.Leaf.Subject = `CN=mail "quoted" \back\slash` + "\nnewline,O=Ünïcödé"
	tricky.TLS.Cipher = ""
	for name, res := range map[string]*prober.Result{
		"starttls success": starttlsSuccess(), "greeting failure": greetingFailure(), "untrusted": untrustedCert(),
		"submission": submissionResult(), "mx": mxResult(), "all addresses": allAddressesResult(), "null mx": nullMXResult(),
		"nothing observed": {}, "escaping": tricky,
	} {
		p := probeMetrics{res: res, durationSeconds: 0.25}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(p)
		want := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true}).ServeHTTP(want, httptest.NewRequest(http.MethodGet, "/probe", nil))
		var got bytes.Buffer
		if err := p.writeText(&got); err != nil {
			t.Fatal(err)
		}
		if want.Header().Get("Content-Type") != TextContentType {
			t.Errorf("registry content type %q, ours %q", want.Header().Get("Content-Type"), TextContentType)
		}
		if !bytes.Equal(want.Body.Bytes(), got.Bytes()) {
			t.Errorf("%s: our exposition differs from the registry's:\n--- registry\n%s\n--- ours\n%s", name, want.Body, got.Bytes())
		}
	}
}

func TestProbeServesTextFormat(t *testing.T) {
	s := newTestServer(t, testConfig(refusedPort(t)))
	_, body, header := s.get(t, "/probe?module=tcp&target=127.0.0.1:1", "Accept", "application/openmetrics-text;version=1.0.0")
	if header.Get("Content-Type") != TextContentType || !bytes.Contains([]byte(body), []byte("probe_success 0")) {
		t.Errorf("content type %q, body %q", header.Get("Content-Type"), body)
	}
}

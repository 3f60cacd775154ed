package collector

import (
	"testing"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// postureResult: a STARTTLS dialogue whose EHLO after TLS lacks CHUNKING,
// with tls_scan finding TLS 1.0 still accepted and TLS 1.1 not answered.
func postureResult() *prober.Result {
	r := okDialogue(4, nil)
	r.DANE = nil
	r.Extensions = []prober.Extension{{Name: "SMTPUTF8", Advertised: true}, {Name: "CHUNKING", Advertised: false}}
	r.Failure = &prober.Failure{Phase: prober.PhaseEHLO, Reason: prober.ReasonExtensionMissing}
	r.TLSVersions = []prober.TLSVersionAccepted{{Version: "TLS 1.0", Accepted: true}, {Version: "TLS 1.2", Accepted: true}, {Version: "TLS 1.3", Accepted: true}}
	return r
}

// tlsrptResult: a domain with one working MX host and a TLS-RPT record
// whose rua names no usable URI.
func tlsrptResult() *prober.Result {
	return &prober.Result{
		Timings: timings(prober.PhaseResolve, 1),
		MX: &prober.MXResult{
			Hosts:  []prober.MXHost{{Name: "mx1.example.com", Preference: 10, Result: okDialogue(4, nil)}},
			TLSRPT: &prober.TLSRPT{Records: 1},
		},
	}
}

func TestProbeMetricsPosture(t *testing.T) {
	fams := gather(t, postureResult())
	ext := map[string]float64{}
	for _, m := range fams["probe_smtp_extension_advertised"].GetMetric() {
		ext[labelsOf(m)["extension"]] = m.GetGauge().GetValue()
	}
	if len(ext) != 2 || ext["SMTPUTF8"] != 1 || ext["CHUNKING"] != 0 {
		t.Errorf("probe_smtp_extension_advertised %v", ext)
	}
	versions := map[string]float64{}
	for _, m := range fams["probe_tls_version_accepted"].GetMetric() {
		versions[labelsOf(m)["version"]] = m.GetGauge().GetValue()
	}
	if len(versions) != 3 || versions["TLS 1.0"] != 1 {
		t.Errorf("probe_tls_version_accepted %v: TLS 1.1 was not answered and must be absent", versions)
	}
	for name, r := range map[string]*prober.Result{"no requirements, no scan": okDialogue(4, nil), "mx without tls_rpt": mxResult()} {
		for _, m := range []string{"probe_smtp_extension_advertised", "probe_tls_version_accepted", "probe_smtp_tlsrpt_record", "probe_smtp_tlsrpt_rua_valid"} {
			if _, ok := gather(t, r)[m]; ok {
				t.Errorf("%s: %s present", name, m)
			}
		}
	}
}

func TestProbeMetricsTLSRPT(t *testing.T) {
	r := tlsrptResult()
	fams := gather(t, r)
	if value(t, fams, "probe_smtp_tlsrpt_record") != 1 || value(t, fams, "probe_smtp_tlsrpt_rua_valid") != 0 {
		t.Error("one record without a usable rua: want record 1, rua_valid 0")
	}
	if value(t, fams, "probe_success") != 1 {
		t.Error("TLS-RPT is reported, never failed")
	}
	r.MX.TLSRPT = &prober.TLSRPT{Records: 2, RUA: nil}
	fams = gather(t, r)
	if _, ok := fams["probe_smtp_tlsrpt_rua_valid"]; ok || value(t, fams, "probe_smtp_tlsrpt_record") != 0 {
		t.Error("two records: want record 0 and no rua_valid")
	}
}

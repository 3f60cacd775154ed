package collector

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// Run with SMTP_EXPORTER_UPDATE_GOLDEN=1 to rewrite testdata/*.prom from the
// code; then read the diff: the golden files are the metric contract by example.
const updateGoldenEnv = "SMTP_EXPORTER_UPDATE_GOLDEN"

func ptrTo[T any](v T) *T { return &v }

func timings(ms ...any) []prober.Timing {
	var out []prober.Timing
	for i := 0; i+1 < len(ms); i += 2 {
		out = append(out, prober.Timing{Phase: ms[i].(prober.Phase), Duration: time.Duration(ms[i+1].(int)) * time.Millisecond})
	}
	return out
}

// starttlsSuccess is a full successful starttls probe with AUTH and the
// auth-enforcement check: every single-dialogue metric of the contract.
func starttlsSuccess() *prober.Result {
	return &prober.Result{
		IPProtocol: 6,
		Reachable:  true,
		Timings: timings(
			prober.PhaseResolve, 1, prober.PhaseConnect, 2, prober.PhaseGreeting, 3, prober.PhaseEHLO, 4,
			prober.PhaseStartTLS, 5, prober.PhaseTLS, 6, prober.PhaseEHLO, 7, prober.PhaseMail, 8,
			prober.PhaseAuth, 9, prober.PhaseQuit, 10,
		),
		GreetingCode:       220,
		StartTLSAdvertised: ptrTo(true),
		AuthAdvertised:     ptrTo(true),
		AuthBeforeTLS:      ptrTo(false),
		AuthSuccess:        ptrTo(true),
		AuthEnforced:       ptrTo(true),
		SizeLimit:          ptrTo(int64(35882577)),
		TLS: &prober.TLSInfo{
			Version:        "TLS 1.3",
			Cipher:         "TLS_AES_128_GCM_SHA256",
			Verified:       true,
			EarliestExpiry: time.Unix(1790000000, 0),
			ChainExpiry:    time.Unix(1800000000, 0),
			Leaf: prober.LeafInfo{
				FingerprintSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				Subject:           "CN=smtp.example.com",
				Issuer:            "CN=Example CA,O=Example",
				SubjectAlt:        "smtp.example.com,mail.example.com",
				Serial:            "1a2b3c",
			},
		},
	}
}

// greetingFailure is a server that answered 421 to the connection.
func greetingFailure() *prober.Result {
	return &prober.Result{
		IPProtocol:   4,
		Reachable:    true,
		Timings:      timings(prober.PhaseResolve, 0, prober.PhaseConnect, 1, prober.PhaseGreeting, 2),
		GreetingCode: 421,
		Failure: &prober.Failure{Phase: prober.PhaseGreeting, Reason: prober.ReasonUnexpectedCode, Code: 421,
			Err: errors.New("421 too busy")},
	}
}

// untrustedCert reached TLS but the chain did not verify.
func untrustedCert() *prober.Result {
	r := &prober.Result{
		IPProtocol:         4,
		Reachable:          true,
		Timings:            timings(prober.PhaseResolve, 0, prober.PhaseConnect, 1, prober.PhaseGreeting, 1, prober.PhaseEHLO, 1, prober.PhaseStartTLS, 1, prober.PhaseTLS, 3),
		GreetingCode:       220,
		StartTLSAdvertised: ptrTo(true),
		AuthBeforeTLS:      ptrTo(false),
		TLS: &prober.TLSInfo{
			Version: "TLS 1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Verified: false,
			EarliestExpiry: time.Unix(1700000000, 0),
			Leaf:           prober.LeafInfo{FingerprintSHA256: "00ff", Subject: "CN=self", Issuer: "CN=self", Serial: "01"},
		},
		Failure: &prober.Failure{Phase: prober.PhaseTLS, Reason: prober.ReasonCertUntrusted, Err: errors.New("x509: unknown authority")},
	}
	return r
}

// submissionResult: 587 refused, 465 works, 2525 silently dropped.
func submissionResult() *prober.Result {
	return &prober.Result{
		SubmissionPort: 465,
		Ports: []prober.PortResult{
			{Port: 587, Result: &prober.Result{
				IPProtocol: 4,
				Timings:    timings(prober.PhaseResolve, 1, prober.PhaseConnect, 1),
				Failure:    &prober.Failure{Phase: prober.PhaseConnect, Reason: prober.ReasonRefused},
			}},
			{Port: 465, Result: &prober.Result{
				IPProtocol:     4,
				Reachable:      true,
				Timings:        timings(prober.PhaseResolve, 1, prober.PhaseConnect, 2, prober.PhaseTLS, 4, prober.PhaseGreeting, 3, prober.PhaseEHLO, 2, prober.PhaseQuit, 1),
				GreetingCode:   220,
				AuthAdvertised: ptrTo(true),
				TLS: &prober.TLSInfo{Version: "TLS 1.3", Cipher: "TLS_AES_256_GCM_SHA384", Verified: true,
					EarliestExpiry: time.Unix(1790000000, 0), ChainExpiry: time.Unix(1790000000, 0),
					Leaf: prober.LeafInfo{FingerprintSHA256: "abcd", Subject: "CN=smtp.example.com", Issuer: "CN=CA",
						SubjectAlt: "smtp.example.com", Serial: "02"}},
			}},
			{Port: 2525, Result: &prober.Result{
				IPProtocol: 4,
				Timings:    timings(prober.PhaseResolve, 1, prober.PhaseConnect, 9000),
				Failure:    &prober.Failure{Phase: prober.PhaseConnect, Reason: prober.ReasonTimeout},
			}},
		},
	}
}

// probeRegistry serves one Result the way /probe does: a fresh registry.
func probeRegistry(t *testing.T, r *prober.Result) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(probeMetrics{res: r, durationSeconds: 0.25}); err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestProbeMetricsGolden(t *testing.T) {
	for name, r := range map[string]*prober.Result{
		"starttls_success":      starttlsSuccess(),
		"greeting_failure":      greetingFailure(),
		"untrusted_certificate": untrustedCert(),
		"submission":            submissionResult(),
		"mx":                    mxResult(),
		"all_addresses":         allAddressesResult(),
		"posture":               postureResult(),
		"tlsrpt":                tlsrptResult(),
	} {
		t.Run(name, func(t *testing.T) {
			golden := filepath.Join("testdata", name+".prom")
			if os.Getenv(updateGoldenEnv) != "" {
				// Not testutil.CollectAndFormat: without metric names it returns nothing.
				mfs, err := probeRegistry(t, r).Gather()
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				for _, mf := range mfs {
					if _, err := expfmt.MetricFamilyToText(&out, mf); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with %s=1 to create it)", err, updateGoldenEnv)
			}
			// CollectAndCompare uses a pedantic registry, as strict as it gets.
			if err := testutil.CollectAndCompare(probeMetrics{res: r, durationSeconds: 0.25}, bytes.NewReader(want)); err != nil {
				t.Error(err)
			}
			problems, err := testutil.GatherAndLint(probeRegistry(t, r))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

// gather returns the families of one Result by name.
func gather(t *testing.T, r *prober.Result) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := probeRegistry(t, r).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	mf, ok := fams[name]
	if !ok || len(mf.GetMetric()) != 1 {
		t.Fatalf("%s: want exactly one series, got %v", name, mf)
	}
	return mf.GetMetric()[0].GetGauge().GetValue()
}

func TestProbeMetricsSuccess(t *testing.T) {
	fams := gather(t, starttlsSuccess())
	if _, ok := fams["probe_smtp_failure"]; ok {
		t.Error("probe_smtp_failure present on success")
	}
	if _, ok := fams["probe_smtp_failure_reply_code"]; ok {
		t.Error("probe_smtp_failure_reply_code present on success")
	}
	if v := value(t, fams, "probe_success"); v != 1 {
		t.Errorf("probe_success %v", v)
	}
	if v := value(t, fams, "probe_ssl_last_chain_expiry_timestamp_seconds"); v != 1800000000 {
		t.Errorf("chain expiry %v", v)
	}
	if v := value(t, fams, "probe_ssl_earliest_cert_expiry"); v != 1790000000 {
		t.Errorf("earliest expiry %v", v)
	}
	// EHLO ran twice around STARTTLS: one series, the sum.
	var phases []string
	for _, m := range fams["probe_smtp_duration_seconds"].GetMetric() {
		ph := labelsOf(m)["phase"]
		phases = append(phases, ph)
		if ph == "ehlo" && m.GetGauge().GetValue() != 0.011 {
			t.Errorf("ehlo duration %v, want 0.011 (4ms + 7ms)", m.GetGauge().GetValue())
		}
	}
	if want := []string{"auth", "connect", "ehlo", "greeting", "mail", "quit", "resolve", "starttls", "tls"}; !slices.Equal(phases, want) {
		t.Errorf("phases %v, want %v", phases, want)
	}
}

func TestProbeMetricsFailure(t *testing.T) {
	for _, tc := range []struct {
		name      string
		r         *prober.Result
		phase     string
		reason    string
		replyCode float64 // 0: the series must be absent
	}{
		{"greeting 421", greetingFailure(), "greeting", "unexpected_code", 421},
		{"untrusted", untrustedCert(), "tls", "cert_untrusted", 0},
		{"auth not enforced", &prober.Result{Reachable: true, GreetingCode: 220,
			Failure: &prober.Failure{Phase: prober.PhaseMail, Reason: prober.ReasonAuthNotEnforced, Code: 250}}, "mail", "auth_not_enforced", 250},
		{"dns", &prober.Result{Timings: timings(prober.PhaseResolve, 5),
			Failure: &prober.Failure{Phase: prober.PhaseResolve, Reason: prober.ReasonDNS}}, "resolve", "dns", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fams := gather(t, tc.r)
			if v := value(t, fams, "probe_success"); v != 0 {
				t.Errorf("probe_success %v", v)
			}
			f := fams["probe_smtp_failure"]
			if f == nil || len(f.GetMetric()) != 1 {
				t.Fatalf("want exactly one probe_smtp_failure series, got %v", f)
			}
			m := f.GetMetric()[0]
			if l := labelsOf(m); len(l) != 2 || l["phase"] != tc.phase || l["reason"] != tc.reason || m.GetGauge().GetValue() != 1 {
				t.Errorf("probe_smtp_failure %v = %v, want {phase=%q, reason=%q} 1", l, m.GetGauge().GetValue(), tc.phase, tc.reason)
			}
			code, present := fams["probe_smtp_failure_reply_code"]
			switch {
			case tc.replyCode == 0 && present:
				t.Errorf("probe_smtp_failure_reply_code present without a deciding reply: %v", code)
			case tc.replyCode != 0 && value(t, fams, "probe_smtp_failure_reply_code") != tc.replyCode:
				t.Errorf("probe_smtp_failure_reply_code %v, want %v", value(t, fams, "probe_smtp_failure_reply_code"), tc.replyCode)
			}
		})
	}
}

func TestProbeMetricsUnverifiedCertificate(t *testing.T) {
	fams := gather(t, untrustedCert())
	if v := value(t, fams, "probe_tls_certificate_verified"); v != 0 {
		t.Errorf("probe_tls_certificate_verified %v", v)
	}
	if v := value(t, fams, "probe_ssl_earliest_cert_expiry"); v != 1700000000 {
		t.Errorf("probe_ssl_earliest_cert_expiry %v: must be reported when verification failed", v)
	}
	if _, ok := fams["probe_ssl_last_chain_expiry_timestamp_seconds"]; ok {
		t.Error("probe_ssl_last_chain_expiry_timestamp_seconds present for a chain that did not verify")
	}
	for _, name := range []string{"probe_ssl_last_chain_info", "probe_tls_version_info", "probe_tls_cipher_info"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s absent for an unverified certificate", name)
		}
	}
}

func TestProbeMetricsNothingObserved(t *testing.T) {
	// Nothing resolved: only what is always reported.
	fams := gather(t, &prober.Result{Failure: &prober.Failure{Phase: prober.PhaseResolve, Reason: prober.ReasonDNS}})
	var names []string
	for n := range fams {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"probe_duration_seconds", "probe_smtp_failure", "probe_smtp_reachable", "probe_success"}
	if !slices.Equal(names, want) {
		t.Errorf("metrics %v, want %v", names, want)
	}
	if v := value(t, fams, "probe_smtp_reachable"); v != 0 {
		t.Errorf("probe_smtp_reachable %v", v)
	}
}

func TestProbeMetricsSubmission(t *testing.T) {
	fams := gather(t, submissionResult())
	for _, name := range []string{"probe_success", "probe_duration_seconds", "probe_smtp_submission_port"} {
		mf := fams[name]
		if mf == nil || len(mf.GetMetric()) != 1 || len(mf.GetMetric()[0].GetLabel()) != 0 {
			t.Errorf("%s: want one series without labels, got %v", name, mf)
		}
	}
	if v := value(t, fams, "probe_success"); v != 1 {
		t.Errorf("probe_success %v, want 1 (465 works)", v)
	}
	if v := value(t, fams, "probe_smtp_submission_port"); v != 465 {
		t.Errorf("probe_smtp_submission_port %v, want 465", v)
	}
	for name, mf := range fams {
		if name == "probe_success" || name == "probe_duration_seconds" || name == "probe_smtp_submission_port" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if p := labelsOf(m)["port"]; p != "587" && p != "465" && p != "2525" {
				t.Errorf("%s%v lacks the port label", name, labelsOf(m))
			}
		}
	}
	failures := map[string]string{}
	for _, m := range fams["probe_smtp_failure"].GetMetric() {
		l := labelsOf(m)
		failures[l["port"]] = l["phase"] + "/" + l["reason"]
	}
	if want := map[string]string{"587": "connect/refused", "2525": "connect/timeout"}; !maps.Equal(failures, want) {
		t.Errorf("failures by port %v, want %v", failures, want)
	}
	reachable := map[string]float64{}
	for _, m := range fams["probe_smtp_reachable"].GetMetric() {
		reachable[labelsOf(m)["port"]] = m.GetGauge().GetValue()
	}
	if len(reachable) != 3 || reachable["465"] != 1 || reachable["587"] != 0 {
		t.Errorf("probe_smtp_reachable by port %v", reachable)
	}

	// No port works: probe_success 0 and submission port 0.
	none := submissionResult()
	none.SubmissionPort = 0
	fams = gather(t, none)
	if value(t, fams, "probe_success") != 0 || value(t, fams, "probe_smtp_submission_port") != 0 {
		t.Error("submission with no working port: want probe_success 0 and probe_smtp_submission_port 0")
	}
}

// contractMetrics is the metric table of CONTRACT.md.
var contractMetrics = []string{
	"probe_success", "probe_duration_seconds", "probe_dns_lookup_time_seconds", "probe_ip_protocol",
	"probe_smtp_reachable", "probe_smtp_duration_seconds", "probe_smtp_greeting_code",
	"probe_smtp_starttls_advertised", "probe_smtp_auth_advertised", "probe_smtp_auth_before_tls",
	"probe_smtp_auth_success", "probe_smtp_auth_enforced", "probe_smtp_size_limit_bytes",
	"probe_smtp_failure", "probe_smtp_failure_reply_code", "probe_tls_version_info", "probe_tls_cipher_info",
	"probe_tls_certificate_verified", "probe_ssl_earliest_cert_expiry",
	"probe_ssl_last_chain_expiry_timestamp_seconds", "probe_ssl_last_chain_info", "probe_smtp_submission_port",
	// Port 25: addresses, MX hosts, DANE, MTA-STS.
	"probe_smtp_addresses", "probe_smtp_addresses_working", "probe_smtp_mx_hosts", "probe_smtp_mx_hosts_working",
	"probe_smtp_dane_records", "probe_smtp_dane_validated", "probe_smtp_dane_match",
	"probe_smtp_mta_sts_mode_info", "probe_smtp_mta_sts_max_age_seconds", "probe_smtp_mta_sts_mx_match",
	// Beyond the anchors: required extensions, the TLS scan, TLS-RPT.
	"probe_smtp_extension_advertised", "probe_tls_version_accepted", "probe_smtp_tlsrpt_record", "probe_smtp_tlsrpt_rua_valid",
}

// TestProbeMetricsMatchContract: the test Results together emit exactly the
// contract's metrics, all gauges, with only the contract's labels.
func TestProbeMetricsMatchContract(t *testing.T) {
	allowedLabels := map[string]bool{
		"phase": true, "reason": true, "port": true, "version": true, "cipher": true,
		"fingerprint_sha256": true, "subject": true, "issuer": true, "subjectalternative": true, "serialnumber": true,
		"address": true, "ip_version": true, "mx": true, "preference": true, "mode": true,
		"extension": true,
	}
	seen := map[string]bool{}
	for _, r := range []*prober.Result{starttlsSuccess(), greetingFailure(), untrustedCert(), submissionResult(), mxResult(), allAddressesResult(),
		postureResult(), tlsrptResult()} {
		for name, mf := range gather(t, r) {
			seen[name] = true
			if !slices.Contains(contractMetrics, name) {
				t.Errorf("%s is not in the contract", name)
			}
			if mf.GetType() != dto.MetricType_GAUGE {
				t.Errorf("%s is a %s, the contract says gauge", name, mf.GetType())
			}
			for _, m := range mf.GetMetric() {
				for l := range labelsOf(m) {
					if !allowedLabels[l] {
						t.Errorf("%s has label %q", name, l)
					}
				}
			}
		}
	}
	for _, name := range contractMetrics {
		if !seen[name] {
			t.Errorf("%s of the contract is never emitted", name)
		}
	}
}

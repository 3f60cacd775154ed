package collector

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// okDialogue is a STARTTLS dialogue on port 25 that passed, with DANE when dane is set.
func okDialogue(ipProtocol int, dane *prober.DANEResult) *prober.Result {
	return &prober.Result{
		IPProtocol:         ipProtocol,
		Reachable:          true,
		Timings:            timings(prober.PhaseConnect, 1, prober.PhaseGreeting, 2, prober.PhaseEHLO, 1, prober.PhaseStartTLS, 1, prober.PhaseTLS, 3, prober.PhaseDANE, 1, prober.PhaseQuit, 1),
		GreetingCode:       220,
		StartTLSAdvertised: ptrTo(true),
		AuthAdvertised:     ptrTo(false),
		AuthBeforeTLS:      ptrTo(false),
		TLS: &prober.TLSInfo{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", Verified: true,
			EarliestExpiry: time.Unix(1790000000, 0), ChainExpiry: time.Unix(1790000000, 0),
			Leaf: prober.LeafInfo{FingerprintSHA256: "abcd", Subject: "CN=mx", Issuer: "CN=CA", SubjectAlt: "mx", Serial: "03"}},
		DANE: dane,
	}
}

func refused(ipProtocol int) *prober.Result {
	return &prober.Result{IPProtocol: ipProtocol, Timings: timings(prober.PhaseConnect, 1),
		Failure: &prober.Failure{Phase: prober.PhaseConnect, Reason: prober.ReasonRefused}}
}

// mxResult: example.com under an enforce MTA-STS policy. mx1 works and
// matches its TLSA record; mx2 has a dead AAAA record; mx3 is not named by the policy.
func mxResult() *prober.Result {
	return &prober.Result{
		Timings: timings(prober.PhaseResolve, 2, prober.PhaseMTASTS, 30),
		MX: &prober.MXResult{
			MTASTS: &prober.MTASTSPolicy{ID: "1", Mode: "enforce", MaxAge: 604800, MX: []string{"*.example.com"}},
			Hosts: []prober.MXHost{
				{Name: "mx1.example.com", Preference: 10, PolicyMatch: ptrTo(true),
					Result: okDialogue(4, &prober.DANEResult{Records: 1, Validated: true, Match: ptrTo(true)})},
				{Name: "mx2.example.com", Preference: 20, PolicyMatch: ptrTo(true), Result: &prober.Result{
					Timings: timings(prober.PhaseResolve, 1),
					Addresses: []prober.AddressResult{
						{Addr: netip.MustParseAddr("192.0.2.2"), Result: okDialogue(4, &prober.DANEResult{Records: 2, Validated: false})},
						{Addr: netip.MustParseAddr("2001:db8::2"), Result: refused(6)},
					},
				}},
				{Name: "mx3.example.net", Preference: 30, PolicyMatch: ptrTo(false), Result: func() *prober.Result {
					r := okDialogue(4, nil)
					r.Failure = &prober.Failure{Phase: prober.PhaseMTASTS, Reason: prober.ReasonMTASTSMXMismatch}
					return r
				}()},
			},
		},
	}
}

// allAddressesResult: a starttls probe with all_addresses, the AAAA dead.
func allAddressesResult() *prober.Result {
	return &prober.Result{
		Timings: timings(prober.PhaseResolve, 1),
		Addresses: []prober.AddressResult{
			{Addr: netip.MustParseAddr("192.0.2.1"), Result: okDialogue(4, nil)},
			{Addr: netip.MustParseAddr("2001:db8::1"), Result: refused(6)},
		},
	}
}

// nullMXResult: the domain publishes "MX 0 .".
func nullMXResult() *prober.Result {
	return &prober.Result{Timings: timings(prober.PhaseResolve, 1), MX: &prober.MXResult{Null: true},
		Failure: &prober.Failure{Phase: prober.PhaseResolve, Reason: prober.ReasonNullMX}}
}

func TestProbeMetricsMX(t *testing.T) {
	fams := gather(t, mxResult())
	unlabelled := map[string]bool{"probe_success": true, "probe_duration_seconds": true, "probe_smtp_mx_hosts": true,
		"probe_smtp_mx_hosts_working": true, "probe_smtp_mta_sts_max_age_seconds": true}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			l := labelsOf(m)
			switch {
			case unlabelled[name]:
				if len(l) != 0 {
					t.Errorf("%s%v: want no labels", name, l)
				}
			case l["mx"] == "" && (name == "probe_smtp_mta_sts_mode_info" || name == "probe_smtp_duration_seconds" || name == "probe_dns_lookup_time_seconds"):
				// The domain's own: the MX lookup and the policy fetch.
			case l["mx"] == "" || l["preference"] == "":
				t.Errorf("%s%v lacks the mx and preference labels", name, l)
			case l["mx"] == "mx2.example.com" && name != "probe_smtp_addresses" && name != "probe_smtp_addresses_working" &&
				name != "probe_smtp_mta_sts_mx_match" && name != "probe_dns_lookup_time_seconds" && name != "probe_smtp_duration_seconds" &&
				(l["address"] == "" || l["ip_version"] == ""):
				t.Errorf("%s%v: mx2's dialogues need address and ip_version", name, l)
			}
		}
	}
	if value(t, fams, "probe_success") != 0 || value(t, fams, "probe_smtp_mx_hosts") != 3 || value(t, fams, "probe_smtp_mx_hosts_working") != 1 {
		t.Errorf("success %v, hosts %v, working %v", value(t, fams, "probe_success"),
			value(t, fams, "probe_smtp_mx_hosts"), value(t, fams, "probe_smtp_mx_hosts_working"))
	}
	failures := map[string]string{}
	for _, m := range fams["probe_smtp_failure"].GetMetric() {
		l := labelsOf(m)
		failures[l["mx"]+" "+l["address"]] = l["phase"] + "/" + l["reason"]
	}
	want := map[string]string{"mx2.example.com 2001:db8::2": "connect/refused", "mx3.example.net ": "mta_sts/mta_sts_mx_mismatch"}
	if fmt.Sprint(failures) != fmt.Sprint(want) {
		t.Errorf("failures %v, want %v", failures, want)
	}
	if l := labelsOf(fams["probe_smtp_mta_sts_mode_info"].GetMetric()[0]); l["mode"] != "enforce" || len(l) != 1 {
		t.Errorf("mode info %v", l)
	}
	// An unvalidated TLSA answer: records and validated reported, no match verdict.
	for _, m := range fams["probe_smtp_dane_match"].GetMetric() {
		if labelsOf(m)["mx"] != "mx1.example.com" {
			t.Errorf("probe_smtp_dane_match%v: only mx1 has validated records", labelsOf(m))
		}
	}

	fams = gather(t, nullMXResult())
	if value(t, fams, "probe_smtp_mx_hosts") != 0 || value(t, fams, "probe_success") != 0 {
		t.Error("null MX: want 0 hosts and probe_success 0")
	}
	if l := labelsOf(fams["probe_smtp_failure"].GetMetric()[0]); l["reason"] != "null_mx" || l["phase"] != "resolve" {
		t.Errorf("null MX failure %v", l)
	}
}

func TestProbeMetricsAllAddresses(t *testing.T) {
	fams := gather(t, allAddressesResult())
	if value(t, fams, "probe_success") != 0 || value(t, fams, "probe_smtp_addresses") != 2 || value(t, fams, "probe_smtp_addresses_working") != 1 {
		t.Error("want probe_success 0 with 2 addresses, 1 working")
	}
	reachable := map[string]string{}
	for _, m := range fams["probe_smtp_reachable"].GetMetric() {
		l := labelsOf(m)
		reachable[l["address"]] = l["ip_version"] + fmt.Sprint(m.GetGauge().GetValue())
	}
	if fmt.Sprint(reachable) != "map[192.0.2.1:41 2001:db8::1:60]" {
		t.Errorf("reachable by address %v", reachable)
	}
	if _, ok := fams["probe_ip_protocol"]; !ok {
		t.Error("no probe_ip_protocol per address")
	}
}

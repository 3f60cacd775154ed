package prober

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

func TestParseSTSRecord(t *testing.T) {
	for _, tc := range []struct {
		txts    []string
		id, err string
	}{
		{[]string{"v=STSv1; id=20240101T000000"}, "20240101T000000", ""},
		{[]string{"v=spf1 -all", "v=STSv1 ;id=abc; ext=1;"}, "abc", ""},
		{nil, "", "no TXT record"},
		{[]string{"v=STSv10; id=x"}, "", "no TXT record"},
		{[]string{"v=STSv1; id=a", "v=STSv1; id=b"}, "", "2 TXT records"},
		{[]string{"v=STSv1;"}, "", "id must be"},
		{[]string{"v=STSv1; id=not-alnum"}, "", "id must be"},
		{[]string{"v=STSv1; id=" + strings.Repeat("a", 33)}, "", "id must be"},
	} {
		id, err := parseSTSRecord(tc.txts)
		if tc.err == "" && (err != nil || id != tc.id) {
			t.Errorf("%q: id %q err %v, want %q", tc.txts, id, err, tc.id)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: err %v, want one containing %q", tc.txts, err, tc.err)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := parsePolicy("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.example.net\r\nmax_age: 604800\r\nfuture: x\r\nmode: none\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != "enforce" || p.MaxAge != 604800 || strings.Join(p.MX, ",") != "mx1.example.test,*.example.net" {
		t.Errorf("policy %+v", p)
	}
	if p, err := parsePolicy("version: STSv1\nmode: none\nmax_age: 0\n"); err != nil || p.Mode != "none" {
		t.Errorf("mode none without mx: %+v, %v", p, err)
	}
	for body, want := range map[string]string{
		"mode: enforce\nmx: a\nmax_age: 1":                        "no version",
		"version: STSv2\nmode: enforce\nmx: a\nmax_age: 1":        "version",
		"version: STSv1\nmx: a\nmax_age: 1":                       "no mode",
		"version: STSv1\nmode: strict\nmx: a\nmax_age: 1":         "mode",
		"version: STSv1\nmode: testing\nmx: a":                    "no max_age",
		"version: STSv1\nmode: testing\nmx: a\nmax_age: -1":       "max_age",
		"version: STSv1\nmode: testing\nmx: a\nmax_age: 1e9":      "max_age",
		"version: STSv1\nmode: testing\nmax_age: 1":               "no mx",
		"version: STSv1\nmode: testing\nmx a\nmax_age: 1":         "key: value",
		"version: STSv1\nmode: testing\nmx: a\nmax_age: 99999999": "max_age",
	} {
		if _, err := parsePolicy(body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one containing %q", body, err, want)
		}
	}
}

func TestPolicyMatches(t *testing.T) {
	p := &MTASTSPolicy{MX: []string{"mx1.example.test", "*.backup.example.test"}}
	for host, want := range map[string]bool{
		"mx1.example.test":           true,
		"MX1.Example.Test.":          true,
		"mx2.example.test":           false,
		"a.backup.example.test":      true,
		"a.b.backup.example.test":    false, // the wildcard covers one label
		"backup.example.test":        false,
		"x.mx1.example.test":         false,
		"a.backup.example.test.evil": false,
	} {
		if got := p.Matches(host); got != want {
			t.Errorf("Matches(%q) = %v, want %v", host, got, want)
		}
	}
}

// stsNet is mxNet plus an MTA-STS policy served over HTTPS on 127.0.25.50.
func stsNet(t *testing.T, policy string, extra ...string) (*loopnet, int) {
	n := mxNet(t, extra...)
	port := policyServer(t, "127.0.25.50", n.cert(t, "mta-sts.example.test"), policyHandler(policy))
	n.dns.Add(t, "_mta-sts.example.test. 300 IN TXT \"v=STSv1; id=20240101\"",
		"mta-sts.example.test. 300 IN A 127.0.25.50")
	return n, port
}

// stsModule is an mx module with mta_sts, fetching the policy from port.
func stsModule(n *loopnet, port int) config.Module {
	m := n.module("mx")
	m.MX.MTASTS = true
	m.MX.MTASTSPort = port
	return m
}

// TestMTASTSEnforceNonMatchingMX: the policy names mx1 only; senders
// enforcing it will not deliver to mx2.
func TestMTASTSEnforceNonMatchingMX(t *testing.T) {
	n, port := stsNet(t, "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 86400\n")
	res := run(t, Probe, Target{Host: "example.test"}, stsModule(n, port))
	if res.Success() || res.Failure != nil {
		t.Fatalf("success %v, probe failure %v: want mx2 to fail", res.Success(), res.Failure)
	}
	p := res.MX.MTASTS
	if p == nil || p.Mode != "enforce" || p.MaxAge != 86400 || p.ID != "20240101" {
		t.Fatalf("policy %+v", p)
	}
	mx1, mx2 := host(t, res, "mx1.example.test"), host(t, res, "mx2.example.test")
	if mx1.PolicyMatch == nil || !*mx1.PolicyMatch || mx2.PolicyMatch == nil || *mx2.PolicyMatch {
		t.Errorf("policy match mx1 %v mx2 %v", mx1.PolicyMatch, mx2.PolicyMatch)
	}
	wantSuccess(t, mx1.Result)
	wantFailure(t, mx2.Result, PhaseMTASTS, ReasonMTASTSMXMismatch, 0)
	if _, ok := res.Duration(PhaseMTASTS); !ok {
		t.Error("no mta_sts phase")
	}
}

// TestMTASTSTestingMode: the same mismatch is reported, not failed.
func TestMTASTSTestingMode(t *testing.T) {
	n, port := stsNet(t, "version: STSv1\nmode: testing\nmx: mx1.example.test\nmax_age: 86400\n")
	res := run(t, Probe, Target{Host: "example.test"}, stsModule(n, port))
	if !res.Success() {
		t.Fatalf("testing mode failed the probe: %v %+v", res.Failure, res.MX.Hosts)
	}
	if m := host(t, res, "mx2.example.test").PolicyMatch; m == nil || *m {
		t.Errorf("mx2 policy match %v, want false", m)
	}
	if res.MX.MTASTS.Mode != "testing" {
		t.Errorf("mode %q", res.MX.MTASTS.Mode)
	}
}

// TestMTASTSEnforceCertificate: under enforce, a certificate that does not
// verify for the MX name fails even with insecure_skip_verify; under testing it does not.
func TestMTASTSEnforceCertificate(t *testing.T) {
	for mode, fails := range map[string]bool{"enforce": true, "testing": false} {
		t.Run(mode, func(t *testing.T) {
			n := newLoopnet(t, "127.0.25.1")
			n.serve(t, n.cert(t, "wrong.example.test"), "127.0.25.1")
			port := policyServer(t, "127.0.25.50", n.cert(t, "mta-sts.example.test"),
				policyHandler("version: STSv1\nmode: "+mode+"\nmx: *.example.test\nmax_age: 86400\n"))
			n.dns.Add(t, "example.test. 300 IN MX 10 mx1.example.test.", "mx1.example.test. 300 IN A 127.0.25.1",
				"_mta-sts.example.test. 300 IN TXT \"v=STSv1; id=1\"", "mta-sts.example.test. 300 IN A 127.0.25.50")
			m := stsModule(n, port)
			m.TLSConfig.InsecureSkipVerify = true
			res := run(t, Probe, Target{Host: "example.test"}, m)
			mx1 := host(t, res, "mx1.example.test")
			if mx1.PolicyMatch == nil || !*mx1.PolicyMatch {
				t.Errorf("*.example.test does not match mx1: %v", mx1.PolicyMatch)
			}
			if fails {
				wantFailure(t, mx1.Result, PhaseTLS, ReasonCertHostname, 0)
			} else {
				wantSuccess(t, mx1.Result)
			}
			if mx1.Result.TLS == nil || mx1.Result.TLS.Verified {
				t.Errorf("TLS %+v, want reported as not verified", mx1.Result.TLS)
			}
		})
	}
}

// TestMTASTSPolicyFailures: each way the policy cannot be had fails the
// probe at mta_sts, while the MX hosts are still probed.
func TestMTASTSPolicyFailures(t *testing.T) {
	good := "version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 86400\n"
	for _, tc := range []struct {
		name    string
		txt     string // the _mta-sts TXT record, "" for none
		handler http.HandlerFunc
		selfSig bool // the policy host's certificate is not from the trusted CA
		reason  Reason
	}{
		{"no TXT record", "", policyHandler(good), false, ReasonMTASTSPolicy},
		{"bad TXT record", `"v=STSv1; id=-"`, policyHandler(good), false, ReasonMTASTSPolicy},
		{"404", `"v=STSv1; id=1"`, http.NotFound, false, ReasonMTASTSPolicy},
		{"redirect", `"v=STSv1; id=1"`, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example.test/", http.StatusFound)
		}, false, ReasonMTASTSPolicy},
		{"not text/plain", `"v=STSv1; id=1"`, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(good))
		}, false, ReasonMTASTSPolicy},
		{"bad policy", `"v=STSv1; id=1"`, policyHandler("version: STSv1\nmode: sometimes\n"), false, ReasonMTASTSPolicy},
		{"untrusted certificate", `"v=STSv1; id=1"`, policyHandler(good), true, ReasonCertUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := mxNet(t)
			cert := n.cert(t, "mta-sts.example.test")
			if tc.selfSig {
				now := time.Now()
				cert = smtptest.SelfSigned(t, []string{"mta-sts.example.test"}, now.Add(-time.Hour), now.Add(time.Hour))
			}
			port := policyServer(t, "127.0.25.50", cert, tc.handler)
			n.dns.Add(t, "mta-sts.example.test. 300 IN A 127.0.25.50")
			if tc.txt != "" {
				n.dns.Add(t, "_mta-sts.example.test. 300 IN TXT "+tc.txt)
			}
			res := run(t, Probe, Target{Host: "example.test"}, stsModule(n, port))
			wantFailure(t, res, PhaseMTASTS, tc.reason, 0)
			if res.MX.MTASTS != nil {
				t.Errorf("policy %+v kept from a failed fetch", res.MX.MTASTS)
			}
			if res.Working() != 2 {
				t.Errorf("working %d: the MX hosts must still be probed", res.Working())
			}
		})
	}
}

// TestMTASTSPolicyHostRefused: nothing listening for the policy.
func TestMTASTSPolicyHostRefused(t *testing.T) {
	n := mxNet(t, "127.0.25.51")
	n.closeUnserved()
	n.dns.Add(t, "_mta-sts.example.test. 300 IN TXT \"v=STSv1; id=1\"", "mta-sts.example.test. 300 IN A 127.0.25.51")
	res := run(t, Probe, Target{Host: "example.test"}, stsModule(n, n.port))
	wantFailure(t, res, PhaseMTASTS, ReasonRefused, 0)
}

// TestMTASTSPolicyServerSilent: a policy host that accepts and never speaks
// costs the probe its deadline, no more, and says timeout.
func TestMTASTSPolicyServerSilent(t *testing.T) {
	n := mxNet(t)
	ln, err := net.Listen("tcp", "127.0.25.52:0") // never accepted: the TLS handshake gets no answer
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	n.dns.Add(t, "_mta-sts.example.test. 300 IN TXT \"v=STSv1; id=1\"", "mta-sts.example.test. 300 IN A 127.0.25.52")
	m := stsModule(n, ln.Addr().(*net.TCPAddr).Port)
	m.Timeout = model.Duration(time.Second)
	res := run(t, Probe, Target{Host: "example.test"}, m)
	wantFailure(t, res, PhaseMTASTS, ReasonTimeout, 0)
}

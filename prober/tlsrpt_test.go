package prober

import (
	"slices"
	"testing"
)

func TestParseTLSRPT(t *testing.T) {
	for _, tc := range []struct {
		name    string
		txts    []string
		records int
		rua     []string
	}{
		{"mailto and https", []string{"v=TLSRPTv1; rua=mailto:tlsrpt@example.test, https://reports.example.test/v1"}, 1,
			[]string{"mailto:tlsrpt@example.test", "https://reports.example.test/v1"}},
		{"other TXT records beside it", []string{"v=spf1 -all", "v=TLSRPTv1;rua=mailto:r@example.test;"}, 1, []string{"mailto:r@example.test"}},
		{"none", []string{"v=spf1 -all"}, 0, nil},
		{"not version 1", []string{"v=TLSRPTv10; rua=mailto:r@example.test"}, 0, nil},
		{"two records: senders use neither", []string{"v=TLSRPTv1; rua=mailto:a@example.test", "v=TLSRPTv1; rua=mailto:b@example.test"}, 2, nil},
		{"no rua", []string{"v=TLSRPTv1"}, 1, nil},
		{"unusable schemes only", []string{"v=TLSRPTv1; rua=http://reports.example.test, ftp://x.example.test"}, 1, nil},
		{"mailto without an address", []string{"v=TLSRPTv1; rua=mailto:reports"}, 1, nil},
		{"one good among bad", []string{"v=TLSRPTv1; rua=mailto:, https:///nohost, HTTPS://ok.example.test"}, 1, []string{"HTTPS://ok.example.test"}},
	} {
		r := parseTLSRPT(tc.txts)
		if r.Records != tc.records || !slices.Equal(r.RUA, tc.rua) {
			t.Errorf("%s: records %d rua %q, want %d %q", tc.name, r.Records, r.RUA, tc.records, tc.rua)
		}
	}
}

// TestMXTLSRPT: the record is looked up through the module's resolver and
// reported; whatever it says, or when the lookup fails, the probe's verdict
// is the MX hosts'.
func TestMXTLSRPT(t *testing.T) {
	for _, tc := range []struct {
		name      string
		txt       string // the _smtp._tls TXT record, "" for none
		servfail  bool
		published bool
		rua       int
		none      bool // not reported at all
	}{
		{name: "present", txt: `"v=TLSRPTv1; rua=mailto:tlsrpt@example.test"`, published: true, rua: 1},
		{name: "absent"},
		{name: "malformed rua", txt: `"v=TLSRPTv1; rua=tlsrpt@example.test"`, published: true},
		{name: "lookup fails", servfail: true, none: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := mxNet(t)
			if tc.txt != "" {
				n.dns.Add(t, "_smtp._tls.example.test. 300 IN TXT "+tc.txt)
			}
			if tc.servfail {
				n.dns.ServFail("_smtp._tls.example.test")
			}
			m := n.module("mx")
			m.MX.TLSRPT = true
			res := run(t, Probe, Target{Host: "example.test"}, m)
			if !res.Success() {
				t.Fatalf("failed: %v %+v", res.Failure, res.MX.Hosts)
			}
			r := res.MX.TLSRPT
			if tc.none {
				if r != nil {
					t.Errorf("TLS-RPT %+v reported from a failed lookup", r)
				}
				return
			}
			if r == nil || r.Published() != tc.published || len(r.RUA) != tc.rua {
				t.Errorf("TLS-RPT %+v, want published %v with %d rua", r, tc.published, tc.rua)
			}
			if !slices.Contains(n.dns.Queries(), "_smtp._tls.example.test. TXT") {
				t.Errorf("queries %v", n.dns.Queries())
			}
		})
	}
	n := mxNet(t)
	if res := run(t, Probe, Target{Host: "example.test"}, n.module("mx")); res.MX.TLSRPT != nil || slices.Contains(n.dns.Queries(), "_smtp._tls.example.test. TXT") {
		t.Error("TLS-RPT looked up without mx.tls_rpt")
	}
}

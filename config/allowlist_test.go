package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAllowList(t *testing.T) {
	a, err := parseAllowList([]string{"192.0.2.0/24", "2001:db8::1", "*.example.com", "Mail.Example.org."})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		addr string
		want bool
	}{
		{"192.0.2.7", "192.0.2.7", true},
		{"192.0.3.1", "192.0.3.1", false},
		{"2001:db8::1", "2001:db8::1", true},
		{"2001:db8::2", "2001:db8::2", false},
		{"smtp.example.com", "198.51.100.1", true}, // listed by pattern
		{"a.b.example.com", "198.51.100.1", true},  // any depth below
		{"example.com", "198.51.100.1", false},     // the pattern is for names below only
		{"evilexample.com", "198.51.100.1", false}, // not a suffix on a label boundary
		{"mail.example.org", "198.51.100.1", true}, // exact, case and trailing dot folded
		{"sneaky.test", "192.0.2.9", true},         // resolved into a listed network
		{"sneaky.test", "10.0.0.1", false},         // DNS cannot smuggle in an address
		{"mapped.test", "::ffff:192.0.2.1", true},  // v4-mapped addresses are unmapped
	} {
		if got := a.Allows(tc.host, netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tc.host, tc.addr, got, tc.want)
		}
	}
	var none *AllowList
	if !none.Allows("anything", netip.MustParseAddr("10.0.0.1")) {
		t.Error("no allow-list must allow everything")
	}
	for _, bad := range []string{"*", "*.", "a*.example.com", "http://x", "10.0.0.0/33"} {
		if _, err := parseAllowList([]string{bad}); err == nil || !strings.Contains(err.Error(), "allowed_targets[0]") {
			t.Errorf("%q: err = %v, want one naming allowed_targets[0]", bad, err)
		}
	}
	if _, err := Parse([]byte("allowed_targets: [\"not valid/x\"]\nmodules:\n  t:\n    prober: tcp\n")); err == nil {
		t.Error("a bad allowed_targets entry must fail the load")
	}
}

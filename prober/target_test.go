package prober_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

func TestParseTarget(t *testing.T) {
	long := strings.Repeat("a", 250) + ".com"
	for _, tc := range []struct {
		in      string
		want    prober.Target
		wantErr string // substring of the error; empty: must parse
	}{
		{in: "mail.example.com", want: prober.Target{Host: "mail.example.com"}},
		{in: "mail.example.com:587", want: prober.Target{Host: "mail.example.com", Port: 587}},
		{in: "MAIL-1.Example_test.com:25", want: prober.Target{Host: "MAIL-1.Example_test.com", Port: 25}},
		{in: "localhost:1", want: prober.Target{Host: "localhost", Port: 1}},
		{in: "localhost:65535", want: prober.Target{Host: "localhost", Port: 65535}},
		{in: "192.0.2.1", want: prober.Target{Host: "192.0.2.1"}},
		{in: "192.0.2.1:465", want: prober.Target{Host: "192.0.2.1", Port: 465}},
		{in: "[::1]:587", want: prober.Target{Host: "::1", Port: 587}},
		{in: "[::1]", want: prober.Target{Host: "::1"}},
		{in: "::1", want: prober.Target{Host: "::1"}},
		{in: "2001:db8::1", want: prober.Target{Host: "2001:db8::1"}},
		{in: "[2001:db8::25]:2525", want: prober.Target{Host: "2001:db8::25", Port: 2525}},

		{in: "", wantErr: "empty"},
		{in: "smtp://x", wantErr: "port"},
		{in: "smtp://mail.example.com:587", wantErr: "smtp://mail.example.com:587"},
		{in: "mail.example.com/path", wantErr: "host contains"},
		{in: "host:", wantErr: "port"},
		{in: ":25", wantErr: "host is empty"},
		{in: "host:0", wantErr: "out of range"},
		{in: "host:65536", wantErr: "out of range"},
		{in: "host:99999999999999999999", wantErr: "port"},
		{in: "host:abc", wantErr: "not a number"},
		{in: "host:-25", wantErr: "not a number"},
		{in: "host:+25", wantErr: "not a number"},
		{in: "host: 25", wantErr: "not a number"},
		{in: "[127.0.0.1]:25", wantErr: "not an IPv6 address"},
		{in: "[mail.example.com]:25", wantErr: "not an IPv6 address"},
		{in: "[::1]x", wantErr: "unexpected"},
		{in: "[::1]:", wantErr: "port"},
		{in: "[::1]:0", wantErr: "out of range"},
		{in: "[::1", wantErr: "missing ]"},
		{in: "::1:587:x", wantErr: "not an IPv6 address"},
		{in: "2001:db8::1:587x", wantErr: "[IPv6]:PORT"},
		{in: "mail example.com", wantErr: "host contains"},
		{in: " mail.example.com", wantErr: "host contains"},
		{in: "mail.example.com ", wantErr: "host contains"},
		{in: "mail.example.com\r\nQUIT", wantErr: "host contains"},
		{in: "mail.example.com :25", wantErr: "host contains"},
		{in: long, wantErr: "253"},
		{in: long + ":25", wantErr: "253"},
		{in: strings.Repeat("a", 301), wantErr: "longer than 300"},
		{in: strings.Repeat("[", 10000), wantErr: "longer than 300"},
	} {
		name := tc.in
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		t.Run(name, func(t *testing.T) {
			got, err := prober.ParseTarget(tc.in)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseTarget(%q) = %+v, want an error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTarget(%q) error %q does not contain %q", tc.in, err, tc.wantErr)
			}
			if strings.ContainsAny(err.Error(), "\n") {
				t.Errorf("error %q is not one line (it becomes a 400 body)", err)
			}
		})
	}
}

func TestQuoteInput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"mail.example.com", `"mail.example.com"`},
		{"a\r\nb\xff", `"a\r\nb\xff"`},
		{strings.Repeat("a", 64), `"` + strings.Repeat("a", 64) + `"`},
		{strings.Repeat("a", 65), `"` + strings.Repeat("a", 64) + `"…`},
		{strings.Repeat("a", 100_000), `"` + strings.Repeat("a", 64) + `"…`},
		// é is two bytes: cut before it rather than in its middle
		{strings.Repeat("a", 62) + "é", `"` + strings.Repeat("a", 62) + `é"`},
		{strings.Repeat("a", 63) + "é", `"` + strings.Repeat("a", 63) + `"…`},
		{strings.Repeat("a", 63) + "éé", `"` + strings.Repeat("a", 63) + `"…`},
	} {
		if got := prober.QuoteInput(tc.in); got != tc.want {
			t.Errorf("QuoteInput(%.80q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestParseTargetErrorsAreShort: every error quotes clipped prefixes, so it
// stays short whatever the input (64 bytes escaped as \xff take 256).
func TestParseTargetErrorsAreShort(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("\xff", 300), "[" + strings.Repeat("\xff", 299), "[::1]" + strings.Repeat("\x00", 295),
		"host:" + strings.Repeat("\xff", 295), strings.Repeat("a", 254) + ":" + strings.Repeat("9", 45),
		strings.Repeat("é", 150), strings.Repeat("x", 100_000),
	} {
		_, err := prober.ParseTarget(in)
		if err == nil || len(err.Error()) > 600 {
			t.Errorf("ParseTarget(%.40q…): error of %d bytes, want one under 600: %.700v", in, len(fmt.Sprint(err)), err)
		}
	}
}

func TestTargetString(t *testing.T) {
	for _, tc := range []struct {
		t    prober.Target
		want string
	}{
		{prober.Target{Host: "mail.example.com", Port: 587}, "mail.example.com:587"},
		{prober.Target{Host: "mail.example.com"}, "mail.example.com"},
		{prober.Target{Host: "::1", Port: 465}, "[::1]:465"},
		{prober.Target{Host: "::1"}, "::1"},
	} {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.t, got, tc.want)
		}
		// What String prints parses back to the same target.
		if back, err := prober.ParseTarget(tc.t.String()); err != nil || back != tc.t {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.t.String(), back, err, tc.t)
		}
	}
}

package runner

import (
	"strings"
	"testing"

	"github.com/smtp-exporter/smtp_exporter/config"
)

func TestResolve(t *testing.T) {
	cfg := config.Builtin()
	for _, tc := range []struct {
		target, module string
		wantModule     string
		wantHost       string
		wantPort       int
	}{
		{"mx.example.com", "tcp", "tcp", "mx.example.com", 25},
		{"mx.example.com", "starttls", "starttls", "mx.example.com", 587},
		{"mx.example.com", "tls", "tls", "mx.example.com", 465},
		{"mx.example.com:2525", "tcp", "tcp", "mx.example.com", 2525},
		{"mx.example.com:2525", "tls", "tls", "mx.example.com", 2525},
		{"mx.example.com", "submission", "submission", "mx.example.com", 0},
		{"mx.example.com:465", "", "tls", "mx.example.com", 465},
		{"mx.example.com:587", "", "starttls", "mx.example.com", 587},
		{"mx.example.com:25", "", "starttls", "mx.example.com", 25},
		{"mx.example.com:2525", "", "starttls", "mx.example.com", 2525},
		{"mx.example.com", "", "submission", "mx.example.com", 0},
		{"[::1]:465", "", "tls", "::1", 465},
		{"[::1]", "tls", "tls", "::1", 465},
		{"::1", "", "submission", "::1", 0},
		{"192.0.2.1", "tcp", "tcp", "192.0.2.1", 25},
		{"example.com", "mx", "mx", "example.com", 0}, // the built-in mx module
	} {
		req, err := Resolve(cfg, tc.target, tc.module)
		if err != nil {
			t.Errorf("Resolve(%q, %q): %v", tc.target, tc.module, err)
			continue
		}
		if req.ModuleName != tc.wantModule || req.Module.Prober != cfg.Modules[tc.wantModule].Prober ||
			req.Target.Host != tc.wantHost || req.Target.Port != tc.wantPort {
			t.Errorf("Resolve(%q, %q) = module %q (prober %q), target %+v; want %q, %s port %d",
				tc.target, tc.module, req.ModuleName, req.Module.Prober, req.Target, tc.wantModule, tc.wantHost, tc.wantPort)
		}
	}

	_, err := Resolve(cfg, "mx.example.com", "nope")
	if _, ok := err.(*UnknownModuleError); !ok {
		t.Errorf("unknown module gave %T %v, want *UnknownModuleError", err, err)
	}
	for _, target := range []string{"", "mx.example.com:0", "mx.example.com:65536", "x y"} {
		if _, err := Resolve(cfg, target, "tcp"); err == nil {
			t.Errorf("Resolve(%q) accepted", target)
		} else if _, ok := err.(*UnknownModuleError); ok {
			t.Errorf("Resolve(%q): a bad target reported as an unknown module", target)
		}
	}
}

func TestResolveMX(t *testing.T) {
	cfg, err := config.Parse([]byte("modules:\n  mx:\n    prober: mx\n"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := Resolve(cfg, "example.com", "mx")
	if err != nil || req.Target.Host != "example.com" || req.Target.Port != 0 {
		t.Errorf("domain: %+v, %v", req, err)
	}
	for target, want := range map[string]string{"example.com:25": "without a port", "192.0.2.1": "not the IP address", "[::1]:25": "without a port"} {
		if _, err := Resolve(cfg, target, "mx"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", target, err, want)
		}
	}
}

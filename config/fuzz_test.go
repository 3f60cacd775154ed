package config

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary YAML to the config loader: it must return a
// config or an error, never panic, and what it accepts must render and load again.
func FuzzParse(f *testing.F) {
	if example, err := os.ReadFile("../config.example.yml"); err == nil {
		f.Add(example)
	}
	for _, seed := range []string{
		"modules:\n  a:\n    prober: tcp\n",
		"modules:\n  s:\n    prober: submission\n    submission:\n      ports: [{port: 587, prober: starttls}]\n",
		"allowed_targets: [\"10.0.0.0/8\", \"*.example.com\"]\nmodules:\n  a:\n    prober: starttls\n    timeout: 1s\n",
		"modules:\n  a:\n    prober: starttls\n    smtp:\n      auth: {username: u, password: p, mechanism: plain}\n",
		"modules: {a: {prober: tls, timeout: -1s}}",
		"modules: []",
		"{",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if _, err := Parse(c.YAML()); err != nil && !containsSecret(c) {
			t.Fatalf("accepted config does not load again after rendering: %v\n%s", err, c.YAML())
		}
	})
}

// containsSecret: a rendered inline password is <secret>, so that round trip may differ legitimately.
func containsSecret(c *Config) bool {
	for _, m := range c.Modules {
		if m.SMTP.Auth != nil && m.SMTP.Auth.Password != "" || m.TLSConfig.Key != "" {
			return true
		}
	}
	return false
}

package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerfileLint: no BuildKit check fires on the Dockerfile, built from
// source (the default) or from goreleaser's binaries (BINARY=prebuilt).
func TestDockerfileLint(t *testing.T) {
	dockerfile, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, binary := range []string{"build", "prebuilt"} {
		findings, err := LintDockerfile(dockerfile, map[string]string{"BINARY": binary, "VERSION": "0.0.0", "REVISION": "x"})
		if err != nil {
			t.Fatal(err)
		}
		if len(findings) > 0 {
			t.Errorf("BINARY=%s:\n%s", binary, strings.Join(findings, "\n"))
		}
	}
}

// The linter is live: it flags what it should.
func TestDockerfileLintFlagsMistakes(t *testing.T) {
	for rule, bad := range map[string]string{
		"FromAsCasing":        "FROM golang:1.26.8-bookworm as build\n",
		"JSONArgsRecommended": "FROM scratch\nENTRYPOINT /bin/smtp_exporter\n",
		"UndefinedArgInFrom":  "FROM ${NOPE}\n",
	} {
		findings, err := LintDockerfile([]byte(bad), nil)
		if err != nil {
			t.Fatal(err)
		}
		if all := strings.Join(findings, "\n"); !strings.Contains(all, rule) {
			t.Errorf("no %s for %q in:\n%s", rule, bad, all)
		}
	}
}

package web

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMESelfMetricsTableMatchesCode: every self-metric this package and
// config/ register is in README's self-metrics table, and nothing else
// (build_info comes from client_golang's version collector).
func TestREADMESelfMetricsTableMatchesCode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, found := strings.Cut(string(readme), "<!-- self-metrics-table")
	if !found {
		t.Fatal("README has no <!-- self-metrics-table marker")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var documented, defined []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(smtp_exporter_[a-z0-9_]+)`").FindAllStringSubmatch(table, -1) {
		documented = append(documented, m[1])
	}
	defined = append(defined, "smtp_exporter_build_info")
	for _, file := range []string{"selfmetrics.go", "../config/safeconfig.go"} {
		code, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(smtp_exporter_[a-z0-9_]+)"`).FindAllStringSubmatch(string(code), -1) {
			defined = append(defined, m[1])
		}
	}
	slices.Sort(documented)
	slices.Sort(defined)
	if !slices.Equal(documented, slices.Compact(defined)) {
		t.Errorf("README self-metrics table and the code differ:\nREADME: %v\ncode:   %v", documented, defined)
	}
}

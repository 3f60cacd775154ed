package collector

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEMetricsTableMatchesCode keeps the users' metric reference and metrics.go in step.
func TestREADMEMetricsTableMatchesCode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile("metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	_, table, found := strings.Cut(string(readme), "<!-- metrics-table")
	if !found {
		t.Fatal("README has no <!-- metrics-table marker")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	documented := regexp.MustCompile("(?m)^\\| `(probe_[a-z0-9_]+)`").FindAllStringSubmatch(table, -1)
	defined := regexp.MustCompile(`"(probe_[a-z0-9_]+)"`).FindAllStringSubmatch(string(code), -1)
	names := func(ms [][]string) []string {
		var out []string
		for _, m := range ms {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		slices.Sort(out)
		return out
	}
	if d, c := names(documented), names(defined); !slices.Equal(d, c) {
		t.Errorf("README metrics table and metrics.go differ:\nREADME: %v\ncode:   %v", d, c)
	}
}

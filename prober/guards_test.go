package prober

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// constsOfType returns the values of the package's string constants
// declared with the named type, read from the source so that a new constant
// cannot hide from the lists below.
func constsOfType(t *testing.T, typeName string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == typeName {
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						values = append(values, s)
					}
				}
			}
			return true
		})
	}
	if len(values) == 0 {
		t.Fatalf("no constants of type %s found", typeName)
	}
	return values
}

// TestEveryPhaseIsReported: a phase missing from Phases would vanish from
// probe_smtp_duration_seconds, the pages and check.
func TestEveryPhaseIsReported(t *testing.T) {
	for _, p := range constsOfType(t, "Phase") {
		if n := slices.Index(Phases, Phase(p)); n < 0 {
			t.Errorf("phase %q is not in Phases", p)
		}
	}
	if len(slices.Compact(slices.Clone(Phases))) != len(Phases) {
		t.Errorf("Phases lists a phase twice: %v", Phases)
	}
}

// TestEveryReasonIsExplained: each reason has exactly one explanation.
func TestEveryReasonIsExplained(t *testing.T) {
	declared := constsOfType(t, "Reason")
	for _, r := range declared {
		n := 0
		for _, info := range reasons {
			if info.reason == Reason(r) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("reason %q has %d entries in reasons, want 1", r, n)
		}
	}
	if len(reasons) != len(declared) {
		t.Errorf("reasons has %d entries, %d reasons are declared", len(reasons), len(declared))
	}
}

// TestREADMEReasonTable keeps the README's reason table equal to reasons.
func TestREADMEReasonTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Failure reasons")
	if !ok {
		t.Fatal("README has no ### Failure reasons section")
	}
	var got []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			got = append(got, line)
		} else if len(got) > 0 {
			break
		}
	}
	var want []string
	for _, info := range reasons {
		want = append(want, "| `"+string(info.reason)+"` | "+info.explanation+" |")
	}
	if !slices.Equal(got, want) {
		t.Errorf("README's reason table differs from prober/reasons.go; it should read:\n%s", strings.Join(want, "\n"))
	}
}

package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sourceFiles lists the repository's non-test Go files, fake servers and the
// benchmark excepted.
func sourceFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (p == "bench" || p == "prober/smtptest" || strings.HasPrefix(d.Name(), ".") && p != "."):
			return filepath.SkipDir
		case strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go"):
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCodeStaysReadable holds the habits the redesign set: short functions,
// contexts passed and never stored.
func TestCodeStaysReadable(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range sourceFiles(t) {
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if lines := fset.Position(n.End()).Line - fset.Position(n.Pos()).Line + 1; lines > 60 {
					t.Errorf("%s: func %s has %d lines (at most 60)", p, n.Name.Name, lines)
				}
			case *ast.StructType:
				for _, field := range n.Fields.List {
					if sel, ok := field.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Context" {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "context" {
							t.Errorf("%s: a struct stores a context.Context; pass it instead", fset.Position(field.Pos()))
						}
					}
				}
			}
			return true
		})
	}
}

// TestNoBranchOnProberName: what differs between prober kinds lives in the
// kinds table (config/kinds.go), not in comparisons spread over the code.
func TestNoBranchOnProberName(t *testing.T) {
	branch := regexp.MustCompile(`Prober\s*[!=]=\s*"[a-z]|case\s+"(tcp|starttls|tls|submission|mx)"`)
	for _, p := range sourceFiles(t) {
		if p == filepath.Join("config", "kinds.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if branch.MatchString(line) {
				t.Errorf("%s:%d branches on a prober name: %s", p, i+1, strings.TrimSpace(line))
			}
		}
	}
}

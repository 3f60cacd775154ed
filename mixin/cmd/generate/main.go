// Command generate renders the monitoring mixin (mixin/*.libsonnet) into
// dashboards/: smtp_exporter.rules.yml, the Grafana dashboards and
// smtp_exporter.reasons_test.yml. Run from the repository root: make mixin.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smtp-exporter/smtp_exporter/mixin"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	files, err := mixin.Render(filepath.Join(*root, "mixin"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
	for _, p := range mixin.Paths(files) {
		if err := os.WriteFile(filepath.Join(*root, p), files[p], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "generate:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", p)
	}
}

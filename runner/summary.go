package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// FailureSummary is "phase/reason" of the probe and of each nested result
// that failed ("mx2.example.com 192.0.2.7: connect/refused"), empty on success.
func FailureSummary(r *prober.Result) string {
	var parts []string
	r.Walk(func(n prober.Node) {
		if f := n.Result.Failure; f != nil {
			parts = append(parts, where(n)+fmt.Sprintf("%s/%s", f.Phase, f.Reason))
		}
	})
	return strings.Join(parts, ", ")
}

// PhaseSummary is the phase timings for the landing page: the probe's own,
// then a line "[where] …" for each nested result that ran any.
func PhaseSummary(r *prober.Result) []string {
	var lines []string
	r.Walk(func(n prober.Node) {
		var parts []string
		for _, ph := range prober.Phases {
			if d, ok := n.Result.Duration(ph); ok {
				parts = append(parts, fmt.Sprintf("%s %s", ph, d.Round(100*time.Microsecond)))
			}
		}
		switch {
		case len(n.Path) > 0 && len(parts) > 0:
			lines = append(lines, fmt.Sprintf("[%s] %s", strings.Join(n.Path, " "), strings.Join(parts, " · ")))
		case len(n.Path) == 0 && (len(parts) > 0 || len(r.Children()) == 0):
			lines = append(lines, strings.Join(parts, " · "))
		}
	})
	return lines
}

// where names a nested result for summaries: "587: ", "mx2.example.com 192.0.2.7: ".
func where(n prober.Node) string {
	if len(n.Path) == 0 {
		return ""
	}
	return strings.Join(n.Path, " ") + ": "
}

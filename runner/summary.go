package runner

import (
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
			parts = append(parts, where(n)+string(f.Phase)+"/"+string(f.Reason))
		}
	})
	return strings.Join(parts, ", ")
}

// PhaseSummary is the phase timings for the landing page: the probe's own,
// then a line "[where] …" for each nested result that ran any. It runs for
// every probe, so each line is built in one buffer.
func PhaseSummary(r *prober.Result) []string {
	var lines []string
	var b []byte
	r.Walk(func(n prober.Node) {
		b = b[:0]
		if len(n.Path) > 0 {
			b = append(append(append(b, '['), strings.Join(n.Path, " ")...), "] "...)
		}
		prefix := len(b)
		for _, ph := range prober.Phases {
			if d, ok := n.Result.Duration(ph); ok {
				if len(b) > prefix {
					b = append(b, " · "...)
				}
				b = append(append(append(b, ph...), ' '), d.Round(100*time.Microsecond).String()...)
			}
		}
		ran := len(b) > prefix
		if ran || len(n.Path) == 0 && len(r.Children()) == 0 {
			lines = append(lines, string(b))
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

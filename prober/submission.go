package prober

import (
	"context"
	"log/slog"
	"sync"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// ProbeSubmission probes every submission port of a host at once, each in
// its own dialogue under the one deadline, and applies the decision rule:
// the first working port in the module's order of preference (587 → 465 → 2525).
// A panic in one port's goroutine fails that port only.
func ProbeSubmission(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result {
	res := &Result{Ports: make([]PortResult, len(m.Submission.Ports))}
	var wg sync.WaitGroup
	for i, p := range m.Submission.Ports {
		pm := m
		pm.Prober = p.Prober
		res.Ports[i].Port = p.Port
		probe := ProbeStartTLS
		if p.Prober == "tls" {
			probe = ProbeTLS
		}
		wg.Go(func() {
			res.Ports[i].Result = probeSafely(ctx, PhaseConnect, probe, Target{Host: t.Host, Port: p.Port}, pm, logger.With("port", p.Port))
		})
	}
	wg.Wait()
	for _, pr := range res.Ports {
		if pr.Result.Success() {
			res.SubmissionPort = pr.Port
			break
		}
	}
	return res
}

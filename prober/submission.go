package prober

import (
	"context"
	"log/slog"
	"sync"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// probeSubmission probes every submission port of a host at once, each in
// its own dialogue under the one deadline, and applies the decision rule:
// the first working port in the module's order of preference (587 → 465 → 2525).
func probeSubmission(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result {
	res := &Result{Ports: make([]PortResult, len(m.Submission.Ports))}
	var wg sync.WaitGroup
	for i, p := range m.Submission.Ports {
		res.Ports[i].Port = p.Port
		k, _ := config.KindOf(p.Prober) // validated: a kind of one server over TLS
		probe := server(k.Transport)
		pm := m
		if p.SourceIPAddress != "" { // the port's own source overrides the module's
			pm.SourceIPAddress = p.SourceIPAddress
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

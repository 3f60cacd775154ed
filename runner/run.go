// Package runner runs one probe outside HTTP: it picks the module and fits
// the target (Resolve), sets the deadline, and keeps the probe's transcript
// and log lines. The /probe handler (web/) and the check command use it alike.
package runner

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// Runner runs probes. The zero value of every field but Logger works.
type Runner struct {
	Logger      *slog.Logger // the process log
	ProberLevel slog.Level   // level at which per-probe records reach Logger
	// TranscriptMaxBytes bounds what one probe's transcript keeps
	// (--probe.transcript-max-bytes); 0 is DefaultTranscriptMaxBytes.
	TranscriptMaxBytes int
	Conns              *prober.ConnLimiter // the connections of all probes together; nil: no bound
	// OnPanic hears of each panic a probe recovered (after it is logged);
	// nil: nobody counts them.
	OnPanic func(*prober.PanicError)
	// Probe runs the probe; nil is prober.Probe (tests inject faulty ones).
	Probe prober.ProbeFn
}

// Outcome is one finished probe.
type Outcome struct {
	Result     *prober.Result
	Took       time.Duration
	Transcript *Transcript
}

// Run runs one probe of req under timeout.
func (r *Runner) Run(ctx context.Context, req Request, timeout time.Duration) Outcome {
	logger, tr := newProbeLogger(r.Logger, r.ProberLevel, r.TranscriptMaxBytes,
		[]slog.Attr{slog.String("module", req.ModuleName), slog.String("target", req.Target.String())})
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	prober.Log(logger, slog.LevelInfo, "beginning probe", slog.String("prober", req.Module.Prober), slog.Float64("timeout_seconds", timeout.Seconds()))
	start := time.Now()
	res := prober.Run(ctx, r.probe(), req.Target, req.Module, logger,
		prober.RunOptions{Conns: r.Conns, OnPanic: func(p *prober.PanicError) { r.panicked(req, p) }})
	took := time.Since(start)
	if res.Success() {
		prober.Log(logger, slog.LevelInfo, "probe succeeded", slog.Float64("duration_seconds", took.Seconds()))
	} else {
		prober.Log(logger, slog.LevelInfo, "probe failed", slog.Float64("duration_seconds", took.Seconds()), slog.String("failure", FailureSummary(res)))
	}
	tr.finish()
	return Outcome{Result: res, Took: took, Transcript: tr}
}

func (r *Runner) probe() prober.ProbeFn {
	if r.Probe != nil {
		return r.Probe
	}
	return prober.Probe
}

// panicked reports a panic the prober recovered (the probe fails with reason
// internal): to the process log with its stack, whatever --log.prober says.
func (r *Runner) panicked(req Request, p *prober.PanicError) {
	r.Logger.Error("probe panicked: a bug of smtp_exporter, the probe fails with reason internal",
		"module", req.ModuleName, "target", req.Target.String(), "phase", p.Phase, "panic", fmt.Sprint(p.Value), "stack", string(p.Stack))
	if r.OnPanic != nil {
		r.OnPanic(p)
	}
}

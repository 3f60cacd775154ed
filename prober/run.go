package prober

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// RunOptions is what the runner of probes (the /probe handler, check)
// gives every probe beside its target and module.
type RunOptions struct {
	// Conns bounds the connections of all probes together; nil: no bound.
	Conns *ConnLimiter
	// OnPanic hears of each panic recovered in the probe (it became a
	// failure with reason internal); nil: nobody is told.
	OnPanic func(*PanicError)
}

// runEnv is a probe's RunOptions and its own dial count. It travels in the
// probe's context so that the ProbeFn signature stays as it is.
type runEnv struct {
	RunOptions
	dials atomic.Int64
}

type runEnvKey struct{}

// envOf is the probe's environment; a probe called without Run (a test, a
// benchmark) gets an empty one: no bound, nobody told of panics.
func envOf(ctx context.Context) *runEnv {
	if e, ok := ctx.Value(runEnvKey{}).(*runEnv); ok {
		return e
	}
	return &runEnv{}
}

// Run runs one probe: fn on t and m under ctx's deadline, its dials under
// opts.Conns. A panic anywhere in it, its fan-out goroutines included,
// becomes a failure with reason internal instead of killing the process.
// The Result's Dials says how many connections the probe dialled.
func Run(ctx context.Context, fn ProbeFn, t Target, m config.Module, logger *slog.Logger, opts RunOptions) *Result {
	env := &runEnv{RunOptions: opts}
	ctx = context.WithValue(ctx, runEnvKey{}, env)
	// Outside a dialogue a probe only looks names up and fans out: a panic there is at resolve.
	res := probeSafely(ctx, PhaseResolve, fn, t, m, logger)
	res.Dials = int(env.dials.Load())
	return res
}

// PanicError is a panic recovered in a probe: a bug of the exporter, not of the server.
type PanicError struct {
	Phase Phase
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("internal error: panic: %v", e.Value) }

// probeSafely runs probe; a panic becomes a Result failed at phase with reason internal.
// Every goroutine a probe starts runs its work through it (or safely):
// net/http recovers only the handler's own goroutine.
func probeSafely(ctx context.Context, phase Phase, probe ProbeFn, t Target, m config.Module, logger *slog.Logger) (res *Result) {
	defer func() {
		if v := recover(); v != nil {
			res = &Result{Failure: recovered(ctx, phase, v, logger)}
		}
	}()
	return probe(ctx, t, m, logger)
}

// safely runs fn and returns the failure a panic in it became, nil when none.
func safely(ctx context.Context, phase Phase, logger *slog.Logger, fn func()) (f *Failure) {
	defer func() {
		if v := recover(); v != nil {
			f = recovered(ctx, phase, v, logger)
		}
	}()
	fn()
	return nil
}

// recovered turns a recovered panic value into a failure with reason
// internal at phase, and tells the runner, with the stack. Call it from the
// deferred function that recovered, so that the stack shows the panic.
func recovered(ctx context.Context, phase Phase, v any, logger *slog.Logger) *Failure {
	pe := &PanicError{Phase: phase, Value: v, Stack: debug.Stack()}
	logger.Error("internal error: the probe panicked", "phase", phase, "panic", fmt.Sprint(v))
	if on := envOf(ctx).OnPanic; on != nil {
		on(pe)
	}
	return failWith(phase, ReasonInternal, 0, pe)
}

package collector

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
)

// Handler serves /probe and the pages around it.
type Handler struct {
	Config        *config.SafeConfig
	Logger        *slog.Logger
	ProberLevel   slog.Level    // level at which per-probe records reach Logger
	TimeoutOffset time.Duration // subtracted from Prometheus's scrape timeout
	History       *History
	Metrics       *SelfMetrics
	Limiter       *Limiter            // nil: no bound on probes in flight
	Conns         *prober.ConnLimiter // the connections of all probes together; nil: no bound

	// TranscriptMaxBytes bounds what one probe's transcript keeps
	// (--probe.transcript-max-bytes); 0 is DefaultTranscriptMaxBytes.
	TranscriptMaxBytes int

	probe prober.ProbeFn // nil: prober.Probe (tests inject failing probers)
}

// Limiter bounds the probes in flight, so a burst of scrapes (or an abuser)
// cannot pile up goroutines and sockets without end.
type Limiter struct{ slots chan struct{} }

// NewLimiter allows n probes at once; n <= 0 means no bound (nil).
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		return nil
	}
	return &Limiter{slots: make(chan struct{}, n)}
}

func (l *Limiter) tryAcquire() bool {
	if l == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (l *Limiter) release() {
	if l != nil {
		<-l.slots
	}
}

// Request is one validated /probe request.
type Request struct {
	ModuleName string
	Module     config.Module
	Target     prober.Target
}

// ResolveRequest validates the target and picks the module as the contract
// says. Its error is the one-line message of a 400.
func ResolveRequest(cfg *config.Config, target, moduleName string) (Request, error) {
	if target == "" {
		return Request{}, fmt.Errorf("target parameter is missing or empty")
	}
	t, err := prober.ParseTarget(target)
	if err != nil {
		return Request{}, err
	}
	if moduleName == "" {
		moduleName = config.KindForPort(t.Port)
		if _, ok := cfg.Modules[moduleName]; !ok {
			return Request{}, fmt.Errorf("no module given and the config has no module %q: add module= (one of %s)", moduleName, strings.Join(cfg.ModuleNames(), ", "))
		}
	}
	m, ok := cfg.Modules[moduleName]
	if !ok {
		return Request{}, &unknownModuleError{name: moduleName, known: cfg.ModuleNames()}
	}
	k, _ := config.KindOf(m.Prober) // validated at load
	if err := fitTarget(moduleName, k, &t); err != nil {
		return Request{}, err
	}
	return Request{ModuleName: moduleName, Module: m, Target: t}, nil
}

// fitTarget checks t against what the kind's target names, and gives a
// target of one server the kind's default port when it has none.
func fitTarget(moduleName string, k config.Kind, t *prober.Target) error {
	switch k.Shape {
	case config.Host:
		if t.Port != 0 {
			return fmt.Errorf("module %q uses the %s prober, which probes %s itself: give a host without a port", moduleName, k.Name, k.Summary)
		}
	case config.Domain:
		if t.Port != 0 {
			return fmt.Errorf("module %q uses the %s prober, which probes %s itself: give a domain without a port", moduleName, k.Name, k.Summary)
		}
		if _, err := netip.ParseAddr(t.Host); err == nil {
			return fmt.Errorf("module %q uses the %s prober: give a mail domain, not the IP address %s", moduleName, k.Name, t.Host)
		}
	default:
		if t.Port == 0 {
			t.Port = k.DefaultPort
		}
	}
	return nil
}

type unknownModuleError struct {
	name  string
	known []string
}

func (e *unknownModuleError) Error() string {
	return fmt.Sprintf("unknown module %s (known: %s)", prober.QuoteInput(e.name), strings.Join(e.known, ", "))
}

// Run runs one probe of req under timeout and returns its result and transcript.
func (h *Handler) Run(ctx context.Context, req Request, timeout time.Duration) (*prober.Result, time.Duration, fmt.Stringer) {
	logger, buf := newProbeLogger(h.Logger, h.ProberLevel, h.TranscriptMaxBytes, "module", req.ModuleName, "target", req.Target.String())
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	h.Metrics.inFlight.Inc()
	defer h.Metrics.inFlight.Dec()
	logger.Info("beginning probe", "prober", req.Module.Prober, "timeout_seconds", timeout.Seconds())
	start := time.Now()
	res := prober.Run(ctx, h.prober(), req.Target, req.Module, logger,
		prober.RunOptions{Conns: h.Conns, OnPanic: func(p *prober.PanicError) { h.panicked(req, p) }})
	took := time.Since(start)
	if res.Success() {
		logger.Info("probe succeeded", "duration_seconds", took.Seconds())
	} else {
		logger.Info("probe failed", "duration_seconds", took.Seconds(), "failure", failureSummary(res))
	}
	return res, took, buf
}

func (h *Handler) prober() prober.ProbeFn {
	if h.probe != nil {
		return h.probe
	}
	return prober.Probe
}

// panicked reports a panic the prober recovered (the probe fails with reason
// internal): to the process log with its stack, whatever --log.prober says.
func (h *Handler) panicked(req Request, p *prober.PanicError) {
	h.Metrics.panics.Inc()
	h.Logger.Error("probe panicked: a bug of smtp_exporter, the probe fails with reason internal",
		"module", req.ModuleName, "target", req.Target.String(), "phase", p.Phase, "panic", fmt.Sprint(p.Value), "stack", string(p.Stack))
}

// ServeHTTP is /probe.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg := h.Config.Get()
	req, err := ResolveRequest(cfg, q.Get("target"), q.Get("module"))
	if err != nil {
		if _, ok := err.(*unknownModuleError); ok {
			h.Metrics.moduleUnknown.Inc()
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	timeout, err := probeTimeout(time.Duration(req.Module.Timeout), r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), h.TimeoutOffset)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	if !h.Limiter.tryAcquire() {
		h.Metrics.rejected.WithLabelValues("concurrency_limit").Inc()
		http.Error(w, fmt.Sprintf("too many probes in flight (--probe.max-concurrent=%d): try again later", cap(h.Limiter.slots)), http.StatusServiceUnavailable)
		return
	}
	res, took, transcript := func() (*prober.Result, time.Duration, fmt.Stringer) {
		defer h.Limiter.release() // even if a prober panics: a lost slot would never come back
		return h.Run(r.Context(), req, timeout)
	}()
	if forbidden(res) {
		h.Metrics.rejected.WithLabelValues("target_forbidden").Inc()
		http.Error(w, fmt.Sprintf("target %q is not in allowed_targets: no connection was made", req.Target), http.StatusForbidden)
		return
	}
	result := "success"
	if !res.Success() {
		result = "failure"
	}
	h.Metrics.probes.WithLabelValues(req.ModuleName, result).Inc()
	h.History.Add(&Probe{
		Time: time.Now(), Module: req.ModuleName, Target: req.Target.String(), Success: res.Success(),
		Failure: failureSummary(res), Duration: took, Phases: phaseSummary(res), log: transcript,
	})

	fams := Families(res, took)
	if debug, _ := strconv.ParseBool(q.Get("debug")); debug {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff") // the transcript is text the server chose
		_, _ = w.Write(debugOutput(fams, transcript.String(), req))
		return
	}
	// A probe's exposition is a few kB, sent uncompressed: gzip would cost more CPU than it saves.
	format := Negotiate(r.Header)
	w.Header().Set("Content-Type", string(format))
	if err := Encode(w, format, fams); err != nil {
		h.Logger.Debug("writing probe response", "err", err)
	}
}

// forbidden is true when the allow-list stopped every dialogue of the probe
// and nothing at all was dialled (the MTA-STS policy fetch dials too): that
// is a 403. A probe that dialled anything is answered as usual, its
// forbidden parts failing with reason "forbidden".
func forbidden(r *prober.Result) bool {
	if r.Dials > 0 {
		return false
	}
	leaves := r.Dialogues()
	for _, d := range leaves {
		if d.Failure == nil || d.Failure.Reason != prober.ReasonForbidden {
			return false
		}
	}
	return len(leaves) > 0
}

// probeTimeout is min(module timeout, scrape timeout header − offset).
func probeTimeout(module time.Duration, header string, offset time.Duration) (time.Duration, error) {
	if header == "" {
		return module, nil
	}
	secs, err := strconv.ParseFloat(header, 64)
	// !(secs > 0) also rejects NaN; +Inf and huge values would overflow the
	// Duration conversion below into a negative deadline.
	if err != nil || !(secs > 0) || math.IsInf(secs, 1) {
		return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds %s is not a positive number", prober.QuoteInput(header))
	}
	if secs >= (module + offset).Seconds() {
		return module, nil
	}
	scrape := time.Duration(secs * float64(time.Second))
	if scrape-offset > 0 {
		scrape -= offset
	} else {
		scrape /= 2 // an offset longer than the scrape timeout: still leave the answer time to arrive
	}
	return min(module, scrape), nil
}

func debugOutput(fams []*dto.MetricFamily, transcript string, req Request) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Probe of %s with module %s (prober %s)\n\n", req.Target, req.ModuleName, req.Module.Prober)
	b.WriteString("Logs for the probe:\n")
	b.WriteString(transcript)
	b.WriteString("\n\nMetrics that would have been returned:\n")
	var m bytes.Buffer
	_ = Encode(&m, TextFormat, fams)
	b.WriteString(escapeLines(m.String())) // certificate names are the server's text too
	fmt.Fprintf(&b, "\n\nModule configuration (%s):\n", req.ModuleName)
	b.Write(req.Module.YAML())
	return b.Bytes()
}

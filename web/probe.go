// Package web serves the exporter over HTTP: /probe (through runner), the
// landing page and /logs with the history of recent probes, /config, and
// the exporter's self-metrics.
package web

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/smtp-exporter/smtp_exporter/collector"
	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
	"github.com/smtp-exporter/smtp_exporter/runner"
)

// Handler serves /probe.
type Handler struct {
	Config        *config.SafeConfig
	Runner        *runner.Runner
	TimeoutOffset time.Duration // subtracted from Prometheus's scrape timeout
	History       *History
	Metrics       *SelfMetrics
	Limiter       *Limiter // nil: no bound on probes in flight
}

// ServeHTTP is /probe: validate, run under the limits, remember, answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, timeout, err := h.request(q, r.Header)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !h.Limiter.tryAcquire() {
		h.Metrics.rejected.WithLabelValues("concurrency_limit").Inc()
		http.Error(w, fmt.Sprintf("too many probes in flight (--probe.max-concurrent=%d): try again later", cap(h.Limiter.slots)), http.StatusServiceUnavailable)
		return
	}
	out := h.run(r, req, timeout)
	if out.Result.Forbidden() {
		h.Metrics.rejected.WithLabelValues("target_forbidden").Inc()
		http.Error(w, fmt.Sprintf("target %q is not in allowed_targets: no connection was made", req.Target), http.StatusForbidden)
		return
	}
	h.record(req, out)
	fams := collector.Families(out.Result, out.Took)
	defer fams.Release()
	if debug, _ := strconv.ParseBool(q.Get("debug")); debug {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff") // the transcript is text the server chose
		_, _ = w.Write(debugOutput(fams, out.Transcript.String(), req))
		return
	}
	h.answer(w, collector.Negotiate(r.Header), fams)
}

// answerBuffers hold expositions being written: a few kB a probe, reused
// up to maxPooledAnswer (an mx probe's may be a hundred times larger).
var answerBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledAnswer = 64 << 10

// answer writes the exposition in one piece with its length, uncompressed:
// for a few kB, gzip would cost more CPU than it saves.
func (h *Handler) answer(w http.ResponseWriter, format collector.Format, fams *collector.Exposition) {
	buf := answerBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledAnswer {
			answerBuffers.Put(buf)
		}
	}()
	b, err := fams.Append((*buf)[:0], format) // on error, what was encoded is sent, as a streaming encoder would have
	*buf = b
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if _, werr := w.Write(b); err == nil {
		err = werr
	}
	if err != nil {
		h.Runner.Logger.Debug("writing probe response", "err", err)
	}
}

// request reads and validates the probe request and its deadline.
func (h *Handler) request(q url.Values, header http.Header) (runner.Request, time.Duration, error) {
	req, err := runner.Resolve(h.Config.Get(), q.Get("target"), q.Get("module"))
	if err != nil {
		if _, ok := err.(*runner.UnknownModuleError); ok {
			h.Metrics.moduleUnknown.Inc()
		}
		return req, 0, err
	}
	timeout, err := probeTimeout(time.Duration(req.Module.Timeout), header.Get("X-Prometheus-Scrape-Timeout-Seconds"), h.TimeoutOffset)
	return req, timeout, err
}

// run runs the probe holding its slot of the limiter.
func (h *Handler) run(r *http.Request, req runner.Request, timeout time.Duration) runner.Outcome {
	defer h.Limiter.release() // even if a prober panics: a lost slot would never come back
	h.Metrics.inFlight.Inc()
	defer h.Metrics.inFlight.Dec()
	return h.Runner.Run(r.Context(), req, timeout)
}

// record counts the probe and keeps it in the history.
func (h *Handler) record(req runner.Request, out runner.Outcome) {
	res := out.Result
	result := "success"
	if !res.Success() {
		result = "failure"
	}
	h.Metrics.probes.WithLabelValues(req.ModuleName, result).Inc()
	h.History.Add(&Probe{
		Time: time.Now(), Module: req.ModuleName, Target: req.Target.String(), Success: res.Success(),
		Failure: runner.FailureSummary(res), Duration: out.Took, Phases: runner.PhaseSummary(res), log: out.Transcript,
	})
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

func debugOutput(fams *collector.Exposition, transcript string, req runner.Request) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Probe of %s with module %s (prober %s)\n\n", req.Target, req.ModuleName, req.Module.Prober)
	b.WriteString("Logs for the probe:\n")
	b.WriteString(transcript)
	b.WriteString("\n\nMetrics that would have been returned:\n")
	var m bytes.Buffer
	_ = collector.Encode(&m, collector.TextFormat, fams)
	b.WriteString(runner.EscapeLines(m.String())) // certificate names are the server's text too
	fmt.Fprintf(&b, "\n\nModule configuration (%s):\n", req.ModuleName)
	b.Write(req.Module.YAML())
	return b.Bytes()
}

package web

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// SelfMetrics are the exporter's own metrics on /metrics. None carries a target.
type SelfMetrics struct {
	probes        *prometheus.CounterVec
	inFlight      prometheus.Gauge
	moduleUnknown prometheus.Counter
	rejected      *prometheus.CounterVec
	panics        prometheus.Counter
}

// NewSelfMetrics registers the self-metrics on reg.
func NewSelfMetrics(reg prometheus.Registerer) *SelfMetrics {
	f := promauto.With(reg)
	return &SelfMetrics{
		probes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smtp_exporter_probes_total",
			Help: "Probes run, by module and result (success or failure).",
		}, []string{"module", "result"}),
		inFlight: f.NewGauge(prometheus.GaugeOpts{
			Name: "smtp_exporter_probes_in_flight",
			Help: "Probes running now.",
		}),
		moduleUnknown: f.NewCounter(prometheus.CounterOpts{
			Name: "smtp_exporter_module_unknown_total",
			Help: "Probe requests that named a module the config does not have.",
		}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "smtp_exporter_probes_rejected_total",
			Help: "Probe requests refused before probing: reason concurrency_limit (503) or target_forbidden (403).",
		}, []string{"reason"}),
		panics: f.NewCounter(prometheus.CounterOpts{
			Name: "smtp_exporter_probe_panics_total",
			Help: "Panics recovered in probes (a bug of the exporter): each failed its dialogue with reason internal; the stack is in the log.",
		}),
	}
}

// RegisterConnMetrics registers the gauge and counters of the connection
// bound (--probe.max-connections) on reg, read from conns when scraped.
func RegisterConnMetrics(reg prometheus.Registerer, conns *prober.ConnLimiter) {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smtp_exporter_connections_open",
		Help: "TCP connections the probes hold now (SMTP and the MTA-STS fetch), at most --probe.max-connections.",
	}, func() float64 { return float64(conns.Open()) })
	const waitsHelp = "Probe dials that found every connection slot taken (--probe.max-connections), by how the wait ended: acquired a slot, or the probe's deadline came first (connect/timeout)."
	for result, count := range map[string]func() uint64{
		"acquired": func() uint64 { a, _ := conns.Waits(); return a },
		"deadline": func() uint64 { _, d := conns.Waits(); return d },
	} {
		f.NewCounterFunc(prometheus.CounterOpts{
			Name: "smtp_exporter_connection_waits_total", Help: waitsHelp, ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(count()) })
	}
}

// CountPanic counts a panic a probe recovered (runner.Runner.OnPanic).
func (m *SelfMetrics) CountPanic(*prober.PanicError) { m.panics.Inc() }

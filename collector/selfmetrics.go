package collector

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// SelfMetrics are the exporter's own metrics on /metrics. None carries a target.
type SelfMetrics struct {
	probes        *prometheus.CounterVec
	inFlight      prometheus.Gauge
	moduleUnknown prometheus.Counter
	rejected      *prometheus.CounterVec
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
	}
}

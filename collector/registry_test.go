package collector

import (
	"github.com/prometheus/client_golang/prometheus"
)

// In tests probeMetrics is also a prometheus.Collector: a registry fed the
// same emit calls is the reference the families are checked against.

func (probeMetrics) Describe(chan<- *prometheus.Desc) {}

func (p probeMetrics) Collect(ch chan<- prometheus.Metric) {
	p.emit(emitter{sink: chanSink(ch)})
}

// chanSink makes const metrics for a registry.
type chanSink chan<- prometheus.Metric

func (ch chanSink) gauge(name, help string, v float64, labels []labelPair) {
	names := make([]string, len(labels))
	values := make([]string, len(labels))
	for i, l := range labels {
		names[i], values[i] = l.name, l.value
	}
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, names, nil), prometheus.GaugeValue, v, values...)
}

package collector

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// familySink builds the metric families of one probe directly. /probe used
// to go through a fresh registry per probe; Gather's goroutines, descriptor
// building and consistency checks cost about as much as the rest of the
// exposition, for metrics that metrics.go already defines consistently.
// TestFamiliesMatchRegistry keeps this path equal to the registry's.
type familySink struct {
	byName map[string]*dto.MetricFamily
}

func (s *familySink) gauge(name, help string, v float64, labels []labelPair) {
	mf := s.byName[name]
	if mf == nil {
		mf = &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum()}
		s.byName[name] = mf
	}
	m := &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(v)}, Label: make([]*dto.LabelPair, len(labels))}
	for i, l := range labels {
		m.Label[i] = &dto.LabelPair{Name: proto.String(l.name), Value: proto.String(l.value)}
	}
	slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	mf.Metric = append(mf.Metric, m)
}

// families returns the probe's metric families sorted as a registry sorts
// them: families by name, series by their label values.
func (p probeMetrics) families() []*dto.MetricFamily {
	s := &familySink{byName: map[string]*dto.MetricFamily{}}
	p.emit(emitter{sink: s})
	out := make([]*dto.MetricFamily, 0, len(s.byName))
	for _, mf := range s.byName {
		slices.SortFunc(mf.Metric, compareLabelValues)
		out = append(out, mf)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// compareLabelValues is client_golang's order: fewer labels first, then label values in name order.
func compareLabelValues(a, b *dto.Metric) int {
	if c := cmp.Compare(len(a.Label), len(b.Label)); c != 0 {
		return c
	}
	for i := range a.Label {
		if c := strings.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// writeFamilies encodes families in the format the scraper asked for.
func writeFamilies(w http.ResponseWriter, r *http.Request, fams []*dto.MetricFamily) error {
	format := expfmt.Negotiate(r.Header)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range fams {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close()
	}
	return nil
}

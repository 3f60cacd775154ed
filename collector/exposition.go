package collector

import (
	"cmp"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// Families are a probe's metric families, built directly from its Result:
// a registry per probe would add its collection and consistency checks to
// every scrape for gauges that metrics.go already defines consistently.
// They are sorted as a registry's Gather sorts them, so every format
// encodes them as a registry would (TestExpositionMatchesRegistry).
func Families(res *prober.Result, took time.Duration) []*dto.MetricFamily {
	s := &familySink{byName: map[string]*dto.MetricFamily{}}
	probeMetrics{res: res, durationSeconds: took.Seconds()}.emit(emitter{sink: s})
	fams := make([]*dto.MetricFamily, 0, len(s.byName))
	for _, f := range s.byName {
		slices.SortFunc(f.Metric, compareMetrics)
		fams = append(fams, f)
	}
	slices.SortFunc(fams, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return fams
}

// familySink gathers the emitted gauges into families.
type familySink struct {
	byName map[string]*dto.MetricFamily
}

func (s *familySink) gauge(name, help string, v float64, labels []labelPair) {
	f := s.byName[name]
	if f == nil {
		f = &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum()}
		s.byName[name] = f
	}
	// One allocation each for the sample's strings and label pairs, not two per label.
	strs := slices.Clone(labels)
	pairs := make([]dto.LabelPair, len(labels))
	m := &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(v)}, Label: make([]*dto.LabelPair, len(labels))}
	for i := range strs {
		pairs[i].Name, pairs[i].Value = &strs[i].name, &strs[i].value
		m.Label[i] = &pairs[i]
	}
	slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	f.Metric = append(f.Metric, m)
}

// compareMetrics orders a family's samples as a registry does: fewer labels
// first, then by label values in label-name order.
func compareMetrics(a, b *dto.Metric) int {
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

// Negotiate picks the exposition format from the scraper's Accept header,
// as promhttp does with OpenMetrics enabled: protobuf, OpenMetrics or text.
func Negotiate(h http.Header) expfmt.Format {
	return expfmt.NegotiateIncludingOpenMetrics(h)
}

// Encode writes fams in format.
func Encode(w io.Writer, format expfmt.Format, fams []*dto.MetricFamily) error {
	enc := expfmt.NewEncoder(w, format)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	if closer, ok := enc.(expfmt.Closer); ok {
		return closer.Close()
	}
	return nil
}

// TextFormat is the plain text format (0.0.4), for debug output and tests.
var TextFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

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
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// Exposition is a probe's samples, in the order a registry's Gather gives
// them: by metric name, then within a family by label count and label
// values. They are kept flat (one slice of samples, one of labels) rather
// than as client_model families, which would cost some ten allocations a
// sample on every probe; protobuf, which needs those, builds them on demand.
// Every format encodes as a registry would (TestExpositionMatchesRegistry).
type Exposition struct {
	samples []sample
	labels  []labelPair // the samples' labels, each sample's run sorted by name
}

// sample is one gauge: its family's name and help, its labels as
// labels[lo:hi] of its Exposition.
type sample struct {
	name, help string
	value      float64
	lo, hi     int
}

// Families builds the exposition of a probe directly from its Result: a
// registry per probe would add its collection and consistency checks to
// every scrape for gauges that metrics.go already defines consistently.
func Families(res *prober.Result, took time.Duration) *Exposition {
	x := &Exposition{samples: make([]sample, 0, 48), labels: make([]labelPair, 0, 24)} // a STARTTLS probe has 31 samples, 10 labels
	probeMetrics{res: res, durationSeconds: took.Seconds()}.emit(emitter{sink: x})
	x.sort()
	return x
}

// sort puts the samples in a registry's order.
func (x *Exposition) sort() { slices.SortFunc(x.samples, x.compare) }

// gauge keeps one sample, its labels sorted by name as a registry sorts them.
func (x *Exposition) gauge(name, help string, v float64, labels []labelPair) {
	lo := len(x.labels)
	x.labels = append(x.labels, labels...)
	own := x.labels[lo:]
	slices.SortFunc(own, func(a, b labelPair) int { return strings.Compare(a.name, b.name) })
	x.samples = append(x.samples, sample{name: name, help: help, value: v, lo: lo, hi: len(x.labels)})
}

// compare orders samples by name, then as a registry orders a family's
// metrics: fewer labels first, then by label values in label-name order.
func (x *Exposition) compare(a, b sample) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	if c := cmp.Compare(a.hi-a.lo, b.hi-b.lo); c != 0 {
		return c
	}
	for i := range a.hi - a.lo {
		if c := strings.Compare(x.labels[a.lo+i].value, x.labels[b.lo+i].value); c != 0 {
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

// Encode writes x in format.
func Encode(w io.Writer, format expfmt.Format, x *Exposition) error {
	b, err := x.Append(nil, format)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Append appends x encoded in format to b. The text formats and
// OpenMetrics, which Prometheus negotiates by default, are written here
// directly; protobuf goes through client_model families and expfmt, as do
// names that would need quoting (none of ours does).
func (x *Exposition) Append(b []byte, format expfmt.Format) ([]byte, error) {
	switch t := format.FormatType(); {
	case (t == expfmt.TypeTextPlain || t == expfmt.TypeOpenMetrics && isOpenMetrics1(format)) && x.legacyNames():
		return x.appendText(b, t == expfmt.TypeOpenMetrics), nil
	default:
		var buf bytesWriter
		buf.b = b
		enc := expfmt.NewEncoder(&buf, format)
		for _, f := range x.dtoFamilies() {
			if err := enc.Encode(f); err != nil {
				return buf.b, err
			}
		}
		if closer, ok := enc.(expfmt.Closer); ok {
			return buf.b, closer.Close()
		}
		return buf.b, nil
	}
}

// isOpenMetrics1 is OpenMetrics 0.0.1 or 1.0.0, the versions negotiated;
// 2.0.0 (which only an explicit format asks for) is left to expfmt.
func isOpenMetrics1(format expfmt.Format) bool {
	return !strings.Contains(string(format), "version="+expfmt.OpenMetricsVersion_2_0_0)
}

// legacyNames: every metric and label name is written bare in every
// escaping scheme, as expfmt writes names that pass the legacy check.
func (x *Exposition) legacyNames() bool {
	for i, s := range x.samples {
		if (i == 0 || s.name != x.samples[i-1].name) && !model.LegacyValidation.IsValidMetricName(s.name) {
			return false
		}
	}
	for _, l := range x.labels {
		if !model.LegacyValidation.IsValidLabelName(l.name) {
			return false
		}
	}
	return true
}

type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// dtoFamilies are x's samples as client_model families, for expfmt.
func (x *Exposition) dtoFamilies() []*dto.MetricFamily {
	var fams []*dto.MetricFamily
	for i, s := range x.samples {
		if i == 0 || s.name != x.samples[i-1].name {
			fams = append(fams, &dto.MetricFamily{Name: proto.String(s.name), Help: proto.String(s.help), Type: dto.MetricType_GAUGE.Enum()})
		}
		m := &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(s.value)}}
		for _, l := range x.labels[s.lo:s.hi] {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(l.name), Value: proto.String(l.value)})
		}
		f := fams[len(fams)-1]
		f.Metric = append(f.Metric, m)
	}
	return fams
}

// TextFormat is the plain text format (0.0.4), for debug output and tests.
var TextFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

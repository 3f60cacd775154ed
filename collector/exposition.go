package collector

import (
	"cmp"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
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
	// For sort, kept to be reused: the samples' order, a second samples slice.
	order []int32
	spare []sample
}

// sample is one gauge: its family's name and help, its labels as
// labels[lo:hi] of its Exposition.
type sample struct {
	name, help string
	value      float64
	lo, hi     int
}

// expositions are Expositions given back by Release, for the next probes:
// the slices of a STARTTLS probe's 31 samples are some 5 kB.
var expositions = sync.Pool{New: func() any {
	return &Exposition{samples: make([]sample, 0, 48), labels: make([]labelPair, 0, 24)}
}}

// maxPooledSamples: an exposition larger than this (an mx probe's) is not reused.
const maxPooledSamples = 1024

// Families builds the exposition of a probe directly from its Result: a
// registry per probe would add its collection and consistency checks to
// every scrape for gauges that metrics.go already defines consistently.
// Call Release once it is written.
func Families(res *prober.Result, took time.Duration) *Exposition {
	x := expositions.Get().(*Exposition)
	probeMetrics{res: res, durationSeconds: took.Seconds()}.emit(emitter{sink: x})
	x.sort()
	return x
}

// Release gives x back to be reused; x must not be used after.
func (x *Exposition) Release() {
	if cap(x.samples) > maxPooledSamples {
		return
	}
	clear(x.samples) // the strings of the probe's labels and values go with it
	clear(x.labels)
	x.samples, x.labels = x.samples[:0], x.labels[:0]
	expositions.Put(x)
}

// sort puts the samples in a registry's order. It sorts their indices and
// then moves each sample once: sorting the samples themselves would move
// their strings at every step.
func (x *Exposition) sort() {
	x.order = x.order[:0]
	for i := range x.samples {
		x.order = append(x.order, int32(i))
	}
	slices.SortFunc(x.order, func(a, b int32) int { return x.compare(&x.samples[a], &x.samples[b]) })
	sorted := x.spare[:0]
	for _, i := range x.order {
		sorted = append(sorted, x.samples[i])
	}
	clear(x.samples)
	x.samples, x.spare = sorted, x.samples[:0]
}

// gauge keeps one sample, its labels sorted by name as a registry sorts them.
func (x *Exposition) gauge(name, help string, v float64, labels []labelPair) {
	x.gaugePairs(name, help, v, labels, nil)
}

// gaugePairs is gauge with the labels given as an emitter has them: its
// own, then name, value, name, value….
func (x *Exposition) gaugePairs(name, help string, v float64, labels []labelPair, pairs []string) {
	lo := len(x.labels)
	x.labels = append(x.labels, labels...)
	for i := 0; i+1 < len(pairs); i += 2 {
		x.labels = append(x.labels, labelPair{pairs[i], pairs[i+1]})
	}
	slices.SortFunc(x.labels[lo:], func(a, b labelPair) int { return strings.Compare(a.name, b.name) })
	x.samples = append(x.samples, sample{name: name, help: help, value: v, lo: lo, hi: len(x.labels)})
}

// compare orders samples by name, then as a registry orders a family's
// metrics: fewer labels first, then by label values in label-name order.
func (x *Exposition) compare(a, b *sample) int {
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

// Format is an exposition format as negotiated, with how it is written.
type Format struct {
	format expfmt.Format
	// text: the text format or OpenMetrics 1, written by appendText;
	// otherwise (protobuf) by expfmt.
	text, openMetrics bool
}

// FormatOf is f with how it is written.
func FormatOf(f expfmt.Format) Format {
	t := f.FormatType()
	om := t == expfmt.TypeOpenMetrics && !strings.Contains(string(f), "version="+expfmt.OpenMetricsVersion_2_0_0)
	return Format{format: f, text: t == expfmt.TypeTextPlain || om, openMetrics: om}
}

// ContentType is the format's media type with its parameters.
func (f Format) ContentType() string { return string(f.format) }

// TextFormat is the plain text format (0.0.4), for debug output and tests.
var TextFormat = FormatOf(expfmt.NewFormat(expfmt.TypeTextPlain))

// negotiated caches Negotiate's answers by Accept header: a scraper sends
// the same one on every scrape, and parsing it costs some forty
// allocations. At most maxNegotiated headers are kept.
var (
	negotiated      sync.Map // string → Format
	negotiatedCount atomic.Int32
)

const maxNegotiated = 64

// Negotiate picks the exposition format from the scraper's Accept header,
// as promhttp does with OpenMetrics enabled: protobuf, OpenMetrics or text.
func Negotiate(h http.Header) Format {
	accept := h.Get("Accept")
	if f, ok := negotiated.Load(accept); ok {
		return f.(Format)
	}
	f := FormatOf(expfmt.NegotiateIncludingOpenMetrics(h))
	if negotiatedCount.Load() < maxNegotiated && negotiatedCount.Add(1) <= maxNegotiated {
		negotiated.Store(accept, f)
	}
	return f
}

// Encode writes x in format.
func Encode(w io.Writer, format Format, x *Exposition) error {
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
func (x *Exposition) Append(b []byte, format Format) ([]byte, error) {
	if format.text && x.legacyNames() {
		return x.appendText(b, format.openMetrics), nil
	}
	buf := bytesWriter{b: b}
	enc := expfmt.NewEncoder(&buf, format.format)
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

// legacyNames: every metric and label name is written bare in every
// escaping scheme, as expfmt writes names that pass the legacy check.
func (x *Exposition) legacyNames() bool {
	for i, s := range x.samples {
		if (i == 0 || s.name != x.samples[i-1].name) && !isLegacyName(s.name, true) {
			return false
		}
	}
	for _, l := range x.labels {
		if !isLegacyName(l.name, false) {
			return false
		}
	}
	return true
}

// isLegacyName is model.LegacyValidation's IsValidMetricName (colons
// allowed) or IsValidLabelName, byte by byte: [a-zA-Z_:][a-zA-Z0-9_:]*.
func isLegacyName(name string, colons bool) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' && colons || c >= '0' && c <= '9' && i > 0) {
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

package collector

import (
	"bufio"
	"cmp"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// textSink collects one probe's samples for the text exposition format.
// /probe used to gather a fresh registry per probe and encode it with
// expfmt; that cost about a third of the exporter's own (non-TLS) CPU per
// probe, for gauges that metrics.go already defines consistently. The
// registry stays the reference: TestExpositionMatchesRegistry checks that
// this writer produces the registry's bytes for every kind of Result.
type textSink struct {
	families map[string]*family
}

type family struct {
	name, help string
	samples    []sample
}

type sample struct {
	labels []labelPair // sorted by name
	value  float64
}

func (s *textSink) gauge(name, help string, v float64, labels []labelPair) {
	f := s.families[name]
	if f == nil {
		f = &family{name: name, help: help}
		s.families[name] = f
	}
	sorted := slices.Clone(labels)
	slices.SortFunc(sorted, func(a, b labelPair) int { return strings.Compare(a.name, b.name) })
	f.samples = append(f.samples, sample{labels: sorted, value: v})
}

// TextContentType is the exposition format writeText produces (Prometheus text 0.0.4).
const TextContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// writeText writes the probe's metrics as a registry would: families by
// name, samples with fewer labels first, then by label values in name order.
func (p probeMetrics) writeText(w io.Writer) error {
	s := &textSink{families: map[string]*family{}}
	p.emit(emitter{sink: s})
	fams := make([]*family, 0, len(s.families))
	for _, f := range s.families {
		slices.SortFunc(f.samples, compareSamples)
		fams = append(fams, f)
	}
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })

	bw := bufio.NewWriterSize(w, 4096)
	var num []byte
	for _, f := range fams {
		bw.WriteString("# HELP " + f.name + " " + helpEscaper.Replace(f.help) + "\n# TYPE " + f.name + " gauge\n")
		for _, smp := range f.samples {
			bw.WriteString(f.name)
			for i, l := range smp.labels {
				if i == 0 {
					bw.WriteByte('{')
				} else {
					bw.WriteByte(',')
				}
				bw.WriteString(l.name + `="` + valueEscaper.Replace(l.value) + `"`)
			}
			if len(smp.labels) > 0 {
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			num = appendFloat(num[:0], smp.value)
			bw.Write(num)
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

func compareSamples(a, b sample) int {
	if c := cmp.Compare(len(a.labels), len(b.labels)); c != 0 {
		return c
	}
	for i := range a.labels {
		if c := strings.Compare(a.labels[i].value, b.labels[i].value); c != 0 {
			return c
		}
	}
	return 0
}

// The text format's escaping: HELP escapes \ and newline; label values also ".
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

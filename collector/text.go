package collector

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// appendText writes x in the text format (0.0.4 and 1.0.0 alike for names
// that need no quoting) or, with openMetrics, in OpenMetrics 1.0.0 — gauges
// only, byte for byte as expfmt's MetricFamilyToText and
// MetricFamilyToOpenMetrics write them (TestExpositionMatchesRegistry).
func (x *Exposition) appendText(b []byte, openMetrics bool) []byte {
	for i, s := range x.samples {
		if i == 0 || s.name != x.samples[i-1].name {
			b = appendHeader(b, s.name, s.help, openMetrics)
		}
		b = append(b, s.name...)
		sep := byte('{')
		for _, l := range x.labels[s.lo:s.hi] {
			b = append(b, sep)
			sep = ','
			b = append(b, l.name...)
			b = append(b, `="`...)
			b = appendEscaped(b, l.value, true)
			b = append(b, '"')
		}
		if s.hi > s.lo {
			b = append(b, '}')
		}
		b = append(b, ' ')
		b = appendValue(b, s.value, openMetrics)
		b = append(b, '\n')
	}
	if openMetrics {
		b = append(b, "# EOF\n"...)
	}
	return b
}

// appendHeader writes a gauge family's HELP and TYPE lines; OpenMetrics
// also escapes double quotes in HELP, the text format does not.
func appendHeader(b []byte, name, help string, openMetrics bool) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = appendEscaped(b, help, openMetrics)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	return append(b, " gauge\n"...)
}

// appendEscaped escapes backslash and newline, and with quote the double
// quote: the only bytes expfmt's escapers replace.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if strings.IndexByte(s, '\\') < 0 && strings.IndexByte(s, '\n') < 0 && (!quote || strings.IndexByte(s, '"') < 0) {
		return append(b, s...) // the usual case, found with the vectorised search
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' && c != '\n' && (c != '"' || !quote) {
			continue
		}
		if c == '\n' {
			c = 'n'
		}
		b = append(append(b, s[start:i]...), '\\', c)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendValue formats a sample value as expfmt does: the shortest 'g'
// form; OpenMetrics marks integral values with ".0".
func appendValue(b []byte, f float64, openMetrics bool) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	case f == 0: // -0 too, as expfmt writes it
		f = 0
	}
	// Most values are small integers (flags, codes, counts), which the 'g'
	// form writes as plain integers below 1e6: without the float formatting.
	if n := int64(f); float64(n) == f && n > -1e6 && n < 1e6 {
		b = strconv.AppendInt(b, n, 10)
		if openMetrics {
			b = append(b, '.', '0')
		}
		return b
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if openMetrics && !bytes.ContainsAny(b[start:], "e.") {
		b = append(b, '.', '0')
	}
	return b
}

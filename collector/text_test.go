package collector

import (
	"bytes"
	"math"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestTextEncoderMatchesExpfmt: the text and OpenMetrics writers give
// expfmt's bytes for what no Result produces today — special and extreme
// values, HELP texts and label values with every byte expfmt escapes, and
// label values that are not UTF-8, which a registry would refuse.
func TestTextEncoderMatchesExpfmt(t *testing.T) {
	x := &Exposition{}
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -2.5, 3, 1e21, 1e-7, 123456789, 1.796373445e+09,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(),
		220, 999999, -999999, 1e6, -1e6, 100000, 123456, 999999.5, 1e15, 1 << 53, -(1 << 63), 9.2e18, 1e-300}
	for i, v := range values {
		x.gauge("probe_value", `Help with "quotes", \backslash and`+"\nnewline.", v, []labelPair{{"i", string(rune('a' + i))}})
	}
	x.gauge("probe_labels", "Labels out of order.", 1, []labelPair{{"z", `q"uote`}, {"a", "back\\slash\nnew"}, {"m", "\xff\xfe not utf-8 ünï"}})
	x.gauge("probe_labels", "Labels out of order.", 2, []labelPair{{"z", ""}, {"a", ""}, {"m", ""}})
	x.gauge("probe_labels", "Labels out of order.", 3, nil)
	x.gauge("probe_a_first", "", 7, nil)
	x.sort()

	for _, format := range []expfmt.Format{
		expfmt.NewFormat(expfmt.TypeTextPlain),
		expfmt.NewFormat(expfmt.TypeOpenMetrics),
		expfmt.FmtOpenMetrics_0_0_1,
		expfmt.FmtText + "; escaping=allow-utf-8",
		expfmt.FmtOpenMetrics_1_0_0 + "; escaping=underscores",
	} {
		got, err := x.Append(nil, FormatOf(format))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := expfmt.NewEncoder(&want, format)
		for _, f := range x.dtoFamilies() {
			if err := enc.Encode(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.(expfmt.Closer).Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: ours differs from expfmt's:\n--- expfmt\n%s\n--- ours\n%s", format, want.Bytes(), got)
		}
	}
}

// TestExpositionFallsBackForQuotedNames: a name expfmt would quote is left
// to expfmt, so the exposition stays right should such a name ever appear.
func TestExpositionFallsBackForQuotedNames(t *testing.T) {
	x := &Exposition{}
	x.gauge("probe.dotted", "A UTF-8 name.", 1, []labelPair{{"label.dotted", "v"}})
	format := expfmt.FmtText + "; escaping=allow-utf-8"
	got, err := x.Append(nil, FormatOf(format))
	if err != nil {
		t.Fatal(err)
	}
	if want := "# HELP \"probe.dotted\" A UTF-8 name.\n# TYPE \"probe.dotted\" gauge\n{\"probe.dotted\",\"label.dotted\"=\"v\"} 1\n"; string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestIsLegacyName: the byte-wise check agrees with model's legacy
// validation on names of every shape, UTF-8 and empty ones included.
func TestIsLegacyName(t *testing.T) {
	names := []string{"", "a", "_", ":", "0", "a0", "0a", "probe_success", "probe:rule", "probe.dotted", "probe-dash",
		"Ünïcödé", "a\x00", "a b", "_9", ":9", "A_Z:z_09", "\xff", "é"}
	for c := range 256 {
		names = append(names, string(rune(c)), "x"+string([]byte{byte(c)}), string([]byte{byte(c)}))
	}
	for _, n := range names {
		if got, want := isLegacyName(n, true), model.LegacyValidation.IsValidMetricName(n); got != want {
			t.Errorf("metric name %q: %v, model says %v", n, got, want)
		}
		if got, want := isLegacyName(n, false), model.LegacyValidation.IsValidLabelName(n); got != want {
			t.Errorf("label name %q: %v, model says %v", n, got, want)
		}
	}
}

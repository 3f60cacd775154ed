package mixin

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// A small YAML writer for what the mixin renders (rule files and promtool
// tests), so the generated files read like hand-written ones: keys in the
// order Prometheus' documentation uses, PromQL as literal blocks, long
// annotations folded, and `for: 5m` unquoted (e2e/run.sh shortens it with
// sed). Every scalar that is not plainly safe is written as a JSON string,
// which is a valid YAML double-quoted scalar.

// keyOrder: keys written first, in this order; the others follow sorted.
var keyOrder = []string{
	"rule_files", "evaluation_interval", "tests", "groups", "name", "interval", "rules", "alert", "record",
	"input_series", "series", "values", "promql_expr_test", "alert_rule_test", "expr", "eval_time", "alertname",
	"exp_alerts", "exp_labels", "exp_annotations", "exp_samples", "for", "labels", "value", "annotations",
	"summary", "description", "runbook_url",
}

const foldWidth = 100

var plainSafe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:/ ()=,+#-]*$`)
var yamlKeywords = regexp.MustCompile(`^(?i:true|false|yes|no|on|off|null|~|y|n)$`)

func marshalYAML(v any) string {
	var b strings.Builder
	writeValue(&b, 0, v, false)
	return b.String()
}

// writeValue writes v at the given indent. inline: v follows "key:" or
// "- " on the same line.
func writeValue(b *strings.Builder, indent int, v any, inline bool) {
	switch t := v.(type) {
	case map[string]any:
		writeMap(b, indent, t, inline)
	case []any:
		writeList(b, indent, t, inline)
	default:
		if inline {
			b.WriteString(" ")
		}
		b.WriteString(scalar(t, indent))
		b.WriteString("\n")
	}
}

func writeMap(b *strings.Builder, indent int, m map[string]any, inline bool) {
	if len(m) == 0 {
		b.WriteString(" {}\n")
		return
	}
	if inline {
		b.WriteString("\n")
	}
	for _, k := range orderedKeys(m) {
		b.WriteString(strings.Repeat(" ", indent) + key(k) + ":")
		writeValue(b, indent+2, m[k], true)
	}
}

// writeList writes list items at indent; a map item starts on the dash line.
func writeList(b *strings.Builder, indent int, l []any, inline bool) {
	if len(l) == 0 {
		b.WriteString(" []\n")
		return
	}
	if inline {
		b.WriteString("\n")
	}
	for _, item := range l {
		b.WriteString(strings.Repeat(" ", indent) + "-")
		if m, ok := item.(map[string]any); ok && len(m) > 0 {
			keys := orderedKeys(m)
			b.WriteString(" " + key(keys[0]) + ":")
			writeValue(b, indent+4, m[keys[0]], true)
			for _, k := range keys[1:] {
				b.WriteString(strings.Repeat(" ", indent+2) + key(k) + ":")
				writeValue(b, indent+4, m[k], true)
			}
			continue
		}
		writeValue(b, indent+2, item, true)
	}
}

func orderedKeys(m map[string]any) []string {
	rank := func(k string) int {
		for i, o := range keyOrder {
			if o == k {
				return i
			}
		}
		return len(keyOrder)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func key(k string) string {
	if plainSafe.MatchString(k) && !strings.ContainsAny(k, " :") {
		return k
	}
	return jsonString(k)
}

// scalar renders a string, number or bool; strings as a plain scalar when
// safe, a literal block when multi-line, a folded block when long.
func scalar(v any, indent int) string {
	s, ok := v.(string)
	if !ok {
		out, _ := json.Marshal(v)
		return string(out)
	}
	pad := strings.Repeat(" ", indent)
	switch {
	case strings.Contains(s, "\n") && !strings.HasPrefix(s, " ") && !strings.Contains(s, "\t"):
		chomp := "|-"
		if strings.HasSuffix(s, "\n") {
			chomp, s = "|", strings.TrimSuffix(s, "\n")
		}
		if strings.HasSuffix(s, "\n") {
			return jsonString(s + "\n")
		}
		return chomp + "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	case len(s) > foldWidth && foldable(s):
		return ">-\n" + pad + strings.Join(fold(s, foldWidth), "\n"+pad)
	case plainSafe.MatchString(s) && !yamlKeywords.MatchString(s) && !looksNumeric(s) &&
		!strings.HasSuffix(s, " ") && !strings.Contains(s, ": ") && !strings.Contains(s, " #"):
		return s
	default:
		return jsonString(s)
	}
}

// foldable: a folded block gives back exactly s (single spaces between
// words, nothing YAML would read differently).
func foldable(s string) bool {
	return !strings.ContainsAny(s, "\n\t") && !strings.Contains(s, "  ") &&
		!strings.HasPrefix(s, " ") && !strings.HasSuffix(s, " ")
}

// fold breaks s at single spaces into lines of about width characters,
// preferring spaces outside template actions ({{ … }}).
func fold(s string, width int) []string {
	var lines []string
	for len(s) > width {
		cut := breakAt(s, width)
		if cut < 0 {
			break
		}
		lines = append(lines, s[:cut])
		s = s[cut+1:]
	}
	return append(lines, s)
}

// breakAt: the last space before width outside {{ }}, else the last space
// before width, else the first space; -1 if none.
func breakAt(s string, width int) int {
	depth, outside, any := 0, -1, -1
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			depth++
		case strings.HasPrefix(s[i:], "}}") && depth > 0:
			depth--
		case s[i] == ' ' && i > 0:
			if i > width && any > 0 {
				if outside > 0 {
					return outside
				}
				return any
			}
			any = i
			if depth == 0 {
				outside = i
			}
		}
	}
	if outside > 0 {
		return outside
	}
	return any
}

// looksNumeric: a YAML 1.1 reader could take s for a number (587, 0x20,
// 1e3) or a sexagesimal; such strings are quoted.
func looksNumeric(s string) bool {
	return yamlNumber.MatchString(s) || (s[0] >= '0' && s[0] <= '9' && strings.Contains(s, ":"))
}

var yamlNumber = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0b[01_]+|\.inf|\.nan)$`)

func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

package validate

import (
	"bytes"
	"strings"
)

// PrometheusRule wraps a Prometheus rules file (a top-level `groups:`) in a
// PrometheusRule resource: the file's lines, comments kept, indented under
// `spec:`, which takes the same `groups:`.
func PrometheusRule(rulesFile []byte, source string) []byte {
	var b bytes.Buffer
	b.WriteString("# Generated from " + source + " by `make kubernetes-rules`: do not edit.\n")
	b.WriteString(`# The alerts of dashboards/ as a Prometheus Operator resource; your Prometheus
# must select it (ruleSelector: here the label release: prometheus).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: smtp-exporter
  namespace: monitoring
  labels:
    app.kubernetes.io/name: smtp-exporter
    release: prometheus
spec:
`)
	for _, line := range strings.Split(strings.TrimRight(string(rulesFile), "\n"), "\n") {
		if line != "" {
			b.WriteString("  " + line)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

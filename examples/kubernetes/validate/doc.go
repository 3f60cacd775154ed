// Package validate checks the packaging with the real tools' code: the
// Kubernetes manifests of examples/kubernetes (and the Prometheus Operator
// examples beside it) decoded strictly into the API types, so that a misspelt
// field fails CI instead of being dropped by the API server; the Helm chart
// linted and rendered by Helm's own packages, its output decoded the same way;
// and the Dockerfile through BuildKit's checks. It is its own module so that the
// exporter's go.mod carries none of k8s.io, prometheus-operator, Helm or BuildKit.
//
//	cd examples/kubernetes/validate && go test ./...
//	go test -run TestPrometheusRuleInSync -update .   # regenerate prometheusrule.yaml
package validate

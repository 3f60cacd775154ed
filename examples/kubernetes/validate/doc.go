// Package validate checks the Kubernetes manifests of examples/kubernetes
// (and the Prometheus Operator examples beside it) against the real API
// types, strictly, so that a misspelt field fails CI instead of being
// dropped by the API server. It is its own module so that the exporter's
// go.mod does not carry k8s.io and prometheus-operator.
//
//	cd examples/kubernetes/validate && go test ./...
//	go test -run TestPrometheusRuleInSync -update .   # regenerate prometheusrule.yaml
package validate

package validate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Kustomization is the part of kustomize's schema the examples use; kustomize's
// own module is not worth its weight for three fields.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// newObject returns an empty Go value of the type apiVersion/kind names.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "monitoring.coreos.com/v1/Probe":
		return &monitoringv1.Probe{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1/PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	case "monitoring.coreos.com/v1/Prometheus":
		return &monitoringv1.Prometheus{}, nil
	case "monitoring.coreos.com/v1alpha1/ScrapeConfig":
		return &monitoringv1alpha1.ScrapeConfig{}, nil
	case "kustomize.config.k8s.io/v1beta1/Kustomization":
		return &Kustomization{}, nil
	}
	return nil, fmt.Errorf("no Go type known for %s %s", apiVersion, kind)
}

// Manifest is one decoded YAML document.
type Manifest struct {
	File   string
	Object any // *appsv1.Deployment, *monitoringv1.Probe, …
}

// DecodeFile decodes every document of a YAML file strictly: an unknown,
// duplicate or wrongly capitalised field is an error, as for
// kubectl apply --validate=strict.
func DecodeFile(path string) ([]Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(filepath.Base(path), data)
}

// Decode is DecodeFile for a YAML stream in memory; name labels errors.
func Decode(path string, data []byte) ([]Manifest, error) {
	var out []Manifest
	for i, doc := range splitDocuments(data) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", path, i+1, err)
		}
		obj, err := newObject(meta.APIVersion, meta.Kind)
		if err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", path, i+1, err)
		}
		if err := unmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s, document %d (%s): %w", path, i+1, meta.Kind, err)
		}
		out = append(out, Manifest{File: path, Object: obj})
	}
	return out, nil
}

// unmarshalStrict decodes as the API server's strict decoder does: YAML to
// JSON refusing duplicate keys, then JSON matched to field names exactly
// (encoding/json, and so sigs.k8s.io/yaml.UnmarshalStrict, would accept
// readOnlyRootFileSystem for readOnlyRootFilesystem).
func unmarshalStrict(doc []byte, obj any) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// splitDocuments splits a YAML stream at "---" lines and drops documents
// that hold only comments.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range bytes.Split(append([]byte("\n"), data...), []byte("\n---")) {
		for _, line := range strings.Split(string(doc), "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, doc)
				break
			}
		}
	}
	return docs
}

package validate

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var chartDir = filepath.Join(kubeDir, "helm", "smtp-exporter")

// everything turns on every optional resource of the chart.
var everything = map[string]any{
	"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
	"probes": []any{map[string]any{
		"name": "starttls", "module": "starttls", "targets": []any{"smtp.example.com:587"},
		"labels": map[string]any{"vantage": "k8s-eu-west"}, "selectorLabels": map[string]any{"release": "prometheus"},
	}},
	"extraArgs": []any{"--log.prober=info"},
}

func TestHelmChartLint(t *testing.T) {
	for name, values := range map[string]map[string]any{"defaults": nil, "everything": everything} {
		if problems := LintChart(chartDir, "monitoring", values); len(problems) > 0 {
			t.Errorf("helm lint (%s):\n%s", name, strings.Join(problems, "\n"))
		}
	}
}

// Every manifest the chart renders decodes strictly into its API type.
func TestHelmChartRendersValidManifests(t *testing.T) {
	manifests, err := RenderChart(chartDir, "smtp", "monitoring", everything)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, m := range manifests {
		kinds[reflect.TypeOf(m.Object).Elem().Name()] = true
	}
	for _, want := range []string{"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "ServiceMonitor", "Probe"} {
		if !kinds[want] {
			t.Errorf("the chart renders no %s (got %v)", want, kinds)
		}
	}
	probe := only[monitoringv1.Probe](t, manifests)
	svc := only[corev1.Service](t, manifests)
	if want := svc.Name + ".monitoring.svc:10587"; probe.Spec.ProberSpec.URL != want {
		t.Errorf("Probe prober URL %s, want the Service %s", probe.Spec.ProberSpec.URL, want)
	}
}

// With its defaults the chart deploys what examples/kubernetes/ does: the same
// pod, the same Service port and the same config.
func TestHelmChartMatchesManifests(t *testing.T) {
	chart, err := RenderChart(chartDir, "smtp-exporter", "monitoring", nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := kubeManifests(t)
	cd, pd := only[appsv1.Deployment](t, chart), only[appsv1.Deployment](t, plain)
	if diff := yamlDiff(t, cd.Spec.Template.Spec, pd.Spec.Template.Spec); diff != "" || *cd.Spec.Replicas != *pd.Spec.Replicas {
		t.Errorf("the chart's pod differs from deployment.yaml (chart, then plain):\n%s", diff)
	}
	if cs, ps := only[corev1.Service](t, chart), only[corev1.Service](t, plain); !reflect.DeepEqual(cs.Spec.Ports, ps.Spec.Ports) {
		t.Errorf("Service ports: chart %+v, plain %+v", cs.Spec.Ports, ps.Spec.Ports)
	}
	var chartConfig, plainConfig any
	if err := yaml.Unmarshal([]byte(only[corev1.ConfigMap](t, chart).Data["config.yml"]), &chartConfig); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(only[corev1.ConfigMap](t, plain).Data["config.yml"]), &plainConfig); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(chartConfig, plainConfig) {
		t.Errorf("config: chart %v\nplain %v", chartConfig, plainConfig)
	}
}

func TestHelmChartVersionIsThisVersion(t *testing.T) {
	var meta struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, filepath.Join(chartDir, "Chart.yaml"))), &meta); err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(readRepoFile(t, filepath.Join(repoRoot, "VERSION")))
	if meta.Version != version || meta.AppVersion != version {
		t.Errorf("Chart.yaml version %s appVersion %s, VERSION %s", meta.Version, meta.AppVersion, version)
	}
}

// yamlDiff shows the lines where a and b, as YAML, differ ("" when equal).
func yamlDiff(t *testing.T, a, b any) string {
	t.Helper()
	ya, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	yb, err := yaml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	la, lb := strings.Split(string(ya), "\n"), strings.Split(string(yb), "\n")
	var diff []string
	for i := 0; i < max(len(la), len(lb)); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			diff = append(diff, "- "+x, "+ "+y)
		}
	}
	return strings.Join(diff, "\n")
}

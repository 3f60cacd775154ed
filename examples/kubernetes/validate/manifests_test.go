package validate

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const (
	kubeDir  = ".."       // examples/kubernetes
	repoRoot = "../../.." // the exporter's module
)

var update = flag.Bool("update", false, "rewrite prometheusrule.yaml from dashboards/smtp_exporter.rules.yml")

// manifestFiles lists every Kubernetes manifest under examples/.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yaml", "sharded/*.yaml", "../*.yaml"} {
		m, err := filepath.Glob(filepath.Join(kubeDir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 8 {
		t.Fatalf("found only %v", files)
	}
	return files
}

func decodeAll(t *testing.T, files ...string) []Manifest {
	t.Helper()
	var all []Manifest
	for _, f := range files {
		m, err := DecodeFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m...)
	}
	return all
}

// only returns the one object of type T in the manifests.
func only[T any](t *testing.T, manifests []Manifest) *T {
	t.Helper()
	var found []*T
	for _, m := range manifests {
		if obj, ok := m.Object.(*T); ok {
			found = append(found, obj)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %T, found %d", new(T), len(found))
	}
	return found[0]
}

func TestManifestsDecodeStrictly(t *testing.T) {
	for _, f := range manifestFiles(t) {
		t.Run(strings.TrimPrefix(f, kubeDir+"/"), func(t *testing.T) {
			if _, err := DecodeFile(f); err != nil {
				t.Error(err)
			}
		})
	}
}

// A misspelt field must fail: the check is only worth something if it is strict.
func TestStrictDecodingRejectsTypos(t *testing.T) {
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"unknown-field.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  prots: []\n",
		"duplicate.yaml":     "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"probe-typo.yaml":    "apiVersion: monitoring.coreos.com/v1\nkind: Probe\nmetadata: {name: x}\nspec:\n  prober: {url: a, pth: /probe}\n",
		"unknown-kind.yaml":  "apiVersion: v1\nkind: Pdo\nmetadata: {name: x}\n",
		"capitalised.yaml":   "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  clusterIp: None\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeFile(path); err == nil {
			t.Errorf("%s decoded without error", name)
		}
	}
}

// kubectl apply -k examples/kubernetes must apply every manifest there.
func TestKustomizationListsEveryManifest(t *testing.T) {
	k := only[Kustomization](t, decodeAll(t, filepath.Join(kubeDir, "kustomization.yaml")))
	files, _ := filepath.Glob(filepath.Join(kubeDir, "*.yaml"))
	var want []string
	for _, f := range files {
		if name := filepath.Base(f); name != "kustomization.yaml" {
			want = append(want, name)
		}
	}
	got := slices.Clone(k.Resources)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, files %v", got, want)
	}
}

func TestPrometheusRuleInSync(t *testing.T) {
	const source = "dashboards/smtp_exporter.rules.yml"
	rules, err := os.ReadFile(filepath.Join(repoRoot, source))
	if err != nil {
		t.Fatal(err)
	}
	want := PrometheusRule(rules, source)
	path := filepath.Join(kubeDir, "prometheusrule.yaml")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s is out of date with %s: run make kubernetes-rules", path, source)
	}
	// The same rules, group for group, as the rules file.
	var file monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(rules, &file); err != nil {
		t.Fatalf("%s does not decode as PrometheusRule spec: %v", source, err)
	}
	pr := only[monitoringv1.PrometheusRule](t, decodeAll(t, path))
	if len(pr.Spec.Groups) != len(file.Groups) || len(pr.Spec.Groups) == 0 {
		t.Errorf("%d groups, the rules file has %d", len(pr.Spec.Groups), len(file.Groups))
	}
}

// The ConfigMap's config is one the exporter loads (--config.check).
func TestConfigMapConfigIsValid(t *testing.T) {
	cm := only[corev1.ConfigMap](t, decodeAll(t, filepath.Join(kubeDir, "configmap.yaml")))
	cfg := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(cfg, []byte(cm.Data["config.yml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(repoRoot)
	cmd := exec.Command("go", "run", ".", "--config.file="+cfg, "--config.check")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("--config.check on the ConfigMap's config.yml: %v\n%s", err, out)
	}
	d := only[appsv1.Deployment](t, decodeAll(t, filepath.Join(kubeDir, "deployment.yaml")))
	var mounted bool
	for _, v := range d.Spec.Template.Spec.Volumes {
		mounted = mounted || v.ConfigMap != nil && v.ConfigMap.Name == cm.Name
	}
	if !mounted {
		t.Errorf("the Deployment mounts no volume from ConfigMap %s", cm.Name)
	}
}

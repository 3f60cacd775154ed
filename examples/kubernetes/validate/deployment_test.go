package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func kubeManifests(t *testing.T) []Manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(kubeDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeAll(t, files...)
}

func exporterContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(d.Spec.Template.Spec.Containers))
	}
	return d.Spec.Template.Spec.Containers[0]
}

// The image a Deployment runs is the release this checkout is about to be.
func TestDeploymentImageIsThisVersion(t *testing.T) {
	version := readRepoFile(t, filepath.Join(repoRoot, "VERSION"))
	c := exporterContainer(t, only[appsv1.Deployment](t, kubeManifests(t)))
	if want := "ghcr.io/smtp-exporter/smtp_exporter:v" + strings.TrimSpace(version); c.Image != want {
		t.Errorf("image %s, want %s", c.Image, want)
	}
}

func TestDeploymentProbesAndPort(t *testing.T) {
	c := exporterContainer(t, only[appsv1.Deployment](t, kubeManifests(t)))
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 10587 {
		t.Errorf("ports %+v, want http 10587", c.Ports)
	}
	for name, probe := range map[string]*corev1.Probe{"/-/healthy": c.LivenessProbe, "/-/ready": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("want an HTTP probe of %s on port http, got %+v", name, probe)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
	}
}

func TestDeploymentHardened(t *testing.T) {
	d := only[appsv1.Deployment](t, kubeManifests(t))
	pod := d.Spec.Template.Spec
	c := exporterContainer(t, d)
	checks := map[string]bool{
		"pod runAsNonRoot":              pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot,
		"pod runAsUser 65534":           pod.SecurityContext != nil && pod.SecurityContext.RunAsUser != nil && *pod.SecurityContext.RunAsUser == 65534,
		"pod seccomp RuntimeDefault":    pod.SecurityContext != nil && pod.SecurityContext.SeccompProfile != nil && pod.SecurityContext.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault,
		"readOnlyRootFilesystem":        c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem,
		"allowPrivilegeEscalation off":  c.SecurityContext != nil && c.SecurityContext.AllowPrivilegeEscalation != nil && !*c.SecurityContext.AllowPrivilegeEscalation,
		"capabilities drop ALL":         c.SecurityContext != nil && c.SecurityContext.Capabilities != nil && len(c.SecurityContext.Capabilities.Drop) == 1 && c.SecurityContext.Capabilities.Drop[0] == "ALL",
		"no service account token":      pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken,
		"selector matches the template": labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)),
	}
	for name, ok := range checks {
		if !ok {
			t.Error("Deployment lacks", name)
		}
	}
}

// The Service selects the pods, the Probe scrapes through the Service, and
// the ServiceMonitor finds the Service and its port.
func TestServiceProbeServiceMonitorAgree(t *testing.T) {
	all := kubeManifests(t)
	d := only[appsv1.Deployment](t, all)
	svc := only[corev1.Service](t, all)
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].Port != 10587 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v, want http 10587 → http", svc.Spec.Ports)
	}
	probe := only[monitoringv1.Probe](t, all)
	if want := svc.Name + "." + svc.Namespace + ".svc:10587"; probe.Spec.ProberSpec.URL != want {
		t.Errorf("Probe prober URL %s, want the Service %s", probe.Spec.ProberSpec.URL, want)
	}
	if probe.Spec.ProberSpec.Path != "/probe" || probe.Spec.Module == "" {
		t.Errorf("Probe path %q module %q", probe.Spec.ProberSpec.Path, probe.Spec.Module)
	}
	sm := only[monitoringv1.ServiceMonitor](t, all)
	if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service %v", sm.Spec.Selector.MatchLabels, svc.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" {
		t.Errorf("ServiceMonitor endpoints %+v, want port http", sm.Spec.Endpoints)
	}
}

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

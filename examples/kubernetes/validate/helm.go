package validate

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

// LintChart runs `helm lint` on a chart directory and returns its warnings
// and errors (not its informational messages).
func LintChart(dir, namespace string, values map[string]any) []string {
	var problems []string
	for _, m := range lint.RunAll(dir, values, namespace).Messages {
		if m.Severity >= support.WarningSev {
			problems = append(problems, m.Error())
		}
	}
	return problems
}

// RenderChart runs `helm template`: the chart's manifests for a release, in
// template order, NOTES.txt left out.
func RenderChart(dir, release, namespace string, values map[string]any) ([]Manifest, error) {
	chrt, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	opts := common.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true}
	vals, err := util.ToRenderValues(chrt, values, opts, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	rendered, err := engine.Render(chrt, vals)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		if strings.HasSuffix(name, ".yaml") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out []Manifest
	for _, name := range names {
		m, err := Decode(name, []byte(rendered[name]))
		if err != nil {
			return nil, fmt.Errorf("rendered %w", err)
		}
		out = append(out, m...)
	}
	return out, nil
}

package validate

import (
	"context"
	"fmt"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	digest "github.com/opencontainers/go-digest"
)

// LintDockerfile runs BuildKit's Dockerfile checks, the ones
// `docker build --check` runs, without a Docker engine or a registry: base
// images resolve to an empty config instead of being fetched.
func LintDockerfile(dockerfile []byte, buildArgs map[string]string) ([]string, error) {
	ctx := context.Background()
	src := llb.Scratch()
	def, err := src.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	sourceMap := llb.NewSourceMap(&src, "Dockerfile", "Dockerfile", dockerfile)
	sourceMap.Definition = def
	opt := dockerfile2llb.ConvertOpt{SourceMap: sourceMap, MetaResolver: offlineImages{}}
	opt.BuildArgs = buildArgs
	res, err := dockerfile2llb.DockerfileLint(ctx, dockerfile, opt)
	if err != nil {
		return nil, err
	}
	var findings []string
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		findings = append(findings, fmt.Sprintf("line %d: %s: %s", line, w.RuleName, w.Detail))
	}
	if res.Error != nil {
		findings = append(findings, "error: "+res.Error.Message)
	}
	return findings, nil
}

// offlineImages answers every base image with an empty Linux image config.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, digest.FromString(ref), []byte(`{"os":"linux","architecture":"amd64","config":{}}`), nil
}

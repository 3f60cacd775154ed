package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

// releaseConfig is the part of .goreleaser.yml these tests read.
type releaseConfig struct {
	Builds []struct {
		Targets []string `yaml:"targets"`
	} `yaml:"builds"`
	DockersV2 []struct {
		Images     []string          `yaml:"images"`
		Platforms  []string          `yaml:"platforms"`
		BuildArgs  map[string]string `yaml:"build_args"`
		ExtraFiles []string          `yaml:"extra_files"`
	} `yaml:"dockers_v2"`
}

func readReleaseConfig(t *testing.T) releaseConfig {
	t.Helper()
	var c releaseConfig
	if err := yaml.Unmarshal([]byte(readFile(t, ".goreleaser.yml")), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Builds) != 1 || len(c.DockersV2) != 1 {
		t.Fatalf(".goreleaser.yml: want one build and one image, got %d and %d", len(c.Builds), len(c.DockersV2))
	}
	return c
}

// crossbuildTargets reads CROSSBUILD_TARGETS from the Makefile (GOOS/GOARCH[/GOARM]).
func crossbuildTargets(t *testing.T) []string {
	t.Helper()
	joined := strings.ReplaceAll(readFile(t, "Makefile"), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^CROSSBUILD_TARGETS\s*[:?]?=(.*)$`).FindStringSubmatch(joined)
	if m == nil {
		t.Fatal("Makefile has no CROSSBUILD_TARGETS")
	}
	return strings.Fields(m[1])
}

// goreleaserTarget turns linux_arm_7 into linux/arm/7 and linux_amd64_v1 into
// linux/amd64. crossbuild builds with Go's default GOAMD64 and GOARM64, so
// a release target asking for another level is reported as is (a mismatch).
func goreleaserTarget(target string) string {
	parts := strings.SplitN(target, "_", 3)
	if len(parts) == 3 && (parts[1] == "amd64" && parts[2] == "v1" || parts[1] == "arm64" && parts[2] == "v8.0") {
		parts = parts[:2]
	}
	return strings.Join(parts, "/")
}

func TestReleaseTargetsMatchCrossbuild(t *testing.T) {
	var release []string
	for _, target := range readReleaseConfig(t).Builds[0].Targets {
		release = append(release, goreleaserTarget(target))
	}
	cross := crossbuildTargets(t)
	slices.Sort(release)
	slices.Sort(cross)
	if !slices.Equal(release, cross) {
		t.Errorf(".goreleaser.yml builds %v\nmake crossbuild compiles %v", release, cross)
	}
}

// The image is made of release binaries: each platform needs one, and the
// Dockerfile must take it instead of compiling (BINARY=prebuilt).
func TestReleaseImagePlatformsAreBuilt(t *testing.T) {
	c := readReleaseConfig(t)
	cross := crossbuildTargets(t)
	for _, platform := range c.DockersV2[0].Platforms {
		target := strings.Replace(platform, "/v", "/", 1) // linux/arm/v7 → linux/arm/7
		if !slices.Contains(cross, target) {
			t.Errorf("image platform %s is not a build target %v", platform, cross)
		}
	}
	if got := c.DockersV2[0].BuildArgs["BINARY"]; got != "prebuilt" {
		t.Errorf("dockers_v2 build_args BINARY = %q, want prebuilt", got)
	}
	for _, file := range dockerfileCopies(t) {
		if !slices.Contains(c.DockersV2[0].ExtraFiles, file) {
			t.Errorf("the Dockerfile copies %s from the context, but dockers_v2 extra_files lacks it", file)
		}
	}
}

// dockerfileCopies lists the context files the final image stage COPYs
// (not --from another stage, not the $TARGETPLATFORM binary).
func dockerfileCopies(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, in := range readDockerfile(t) {
		if in.cmd != "COPY" || strings.Contains(in.args, "--from=") || strings.Contains(in.args, "$TARGETPLATFORM") ||
			in.stage != "" {
			continue
		}
		srcs := strings.Fields(in.args)
		files = append(files, srcs[:len(srcs)-1]...)
	}
	return files
}

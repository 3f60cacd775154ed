package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEInstallLines: the install instructions name this module, the Go
// version go.mod asks for, and the image and version a release publishes.
func TestREADMEInstallLines(t *testing.T) {
	readme := readFile(t, "README.md")
	goMod := readFile(t, "go.mod")
	module := regexp.MustCompile(`(?m)^module (\S+)$`).FindStringSubmatch(goMod)[1]
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(goMod)[1]
	version := strings.TrimSpace(readFile(t, "VERSION"))

	installs := regexp.MustCompile(`go install (\S+)@`).FindAllStringSubmatch(readme, -1)
	if len(installs) == 0 {
		t.Error("README has no go install line")
	}
	for _, m := range installs {
		if m[1] != module {
			t.Errorf("README: go install %s, but go.mod's module is %s", m[1], module)
		}
	}
	if !strings.Contains(readme, "Go "+goVersion+" or later") {
		t.Errorf("README does not say Go %s or later (go.mod's go line)", goVersion)
	}

	image := readReleaseConfig(t).DockersV2[0].Images
	runs := regexp.MustCompile(`docker run [^\n]*?(ghcr\.io/\S+):(\S+)`).FindAllStringSubmatch(readme, -1)
	if len(runs) == 0 {
		t.Error("README has no docker run line with the published image")
	}
	for _, m := range runs {
		if len(image) == 0 || m[1] != image[0] || m[2] != "v"+version {
			t.Errorf("README runs %s:%s, a release publishes %v:v%s", m[1], m[2], image, version)
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	stage     string // name of the stage it belongs to ("" for an unnamed one)
}

// readDockerfile splits the Dockerfile into instructions. It knows the
// Dockerfile's line syntax only (comments, backslash continuations), which is
// all these checks need; docker build is the real parser.
func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	stage, pending := "", ""
	for _, line := range strings.Split(readFile(t, "Dockerfile"), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" && pending == "" {
			continue
		}
		if rest, ok := strings.CutSuffix(trimmed, "\\"); ok {
			pending += rest + " "
			continue
		}
		full := strings.Join(strings.Fields(pending+trimmed), " ")
		pending = ""
		cmd, args, _ := strings.Cut(full, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage = ""
			if _, name, ok := strings.Cut(strings.ToLower(args), " as "); ok {
				stage = strings.TrimSpace(name)
			}
		}
		out = append(out, instruction{cmd: cmd, args: args, stage: stage})
	}
	return out
}

// finalStage returns the instructions of the last stage, the image itself.
func finalStage(ins []instruction) []instruction {
	last := 0
	for i, in := range ins {
		if in.cmd == "FROM" {
			last = i
		}
	}
	return ins[last:]
}

// TestDockerfileBaseImagesPinned: every image pulled from a registry names an
// exact version (no floating tag), and the Go image is the Go of go.mod.
func TestDockerfileBaseImagesPinned(t *testing.T) {
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, "go.mod"))
	stages := map[string]bool{"scratch": true}
	pulled := 0
	for _, in := range readDockerfile(t) {
		if in.cmd != "FROM" {
			continue
		}
		fields := strings.Fields(in.args)
		if strings.HasPrefix(fields[0], "--platform=") {
			fields = fields[1:]
		}
		image := fields[0]
		if len(fields) == 3 {
			stages[fields[2]] = true
		}
		if stages[image] || strings.HasPrefix(image, "${") {
			continue // a stage of this file, or one chosen by a build argument
		}
		pulled++
		if !regexp.MustCompile(`^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$`).MatchString(image) {
			t.Errorf("FROM %s: pin an exact version (x.y.z), not a floating tag", image)
		}
		if !strings.HasPrefix(image, "golang:") {
			continue
		}
		if !strings.HasPrefix(image, "golang:"+goVersion[1]+"-") {
			t.Errorf("FROM %s: go.mod says go %s", image, goVersion[1])
		}
		if !strings.Contains(in.args, "--platform=$BUILDPLATFORM") {
			t.Errorf("FROM %s: the build stage should run on $BUILDPLATFORM and cross-compile", image)
		}
	}
	if pulled == 0 {
		t.Error("no base image found")
	}
}

// TestDockerfileImage checks the image's contract: a non-root numeric user,
// the port, the entry point with the example config, and the OCI labels.
func TestDockerfileImage(t *testing.T) {
	final := finalStage(readDockerfile(t))
	var got []string
	labels := ""
	for _, in := range final {
		got = append(got, in.cmd+" "+in.args)
		if in.cmd == "LABEL" {
			labels += " " + in.args
		}
	}
	for _, want := range []string{
		"USER 65534:65534",
		"EXPOSE 10587",
		`ENTRYPOINT ["/bin/smtp_exporter"]`,
		`CMD ["--config.file=/etc/smtp_exporter/config.yml"]`,
		"COPY config.example.yml /etc/smtp_exporter/config.yml",
		"COPY --from=base /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("final stage lacks %q", want)
		}
	}
	for _, want := range []string{
		`org.opencontainers.image.source="https://github.com/smtp-exporter/smtp_exporter"`,
		`org.opencontainers.image.licenses="Apache-2.0"`,
		`org.opencontainers.image.version="${VERSION}"`,
		`org.opencontainers.image.revision="${REVISION}"`,
		`org.opencontainers.image.title="smtp_exporter"`,
		`org.opencontainers.image.description=`,
	} {
		if !strings.Contains(labels, want) {
			t.Errorf("LABEL lacks %s", want)
		}
	}
}

// TestDockerignoreKeepsBuildInputs: .dockerignore drops .git, e2e and bench
// but none of the files `go build .` and the final stage read.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	patterns := readDockerignore(t)
	for _, dropped := range []string{".git/HEAD", "e2e/run.sh", "bench/run.sh", "prober/conn_test.go"} {
		if !dockerignored(patterns, dropped) {
			t.Errorf(".dockerignore keeps %s in the build context", dropped)
		}
	}
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{end}}{{end}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	wd, _ := os.Getwd()
	needed := append(dockerfileCopies(t), "go.mod", "go.sum")
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		rel, _ := filepath.Rel(wd, fields[0])
		for _, f := range fields[1:] {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	for _, f := range needed {
		if dockerignored(patterns, f) {
			t.Errorf(".dockerignore drops %s, which the image build needs", f)
		}
	}
}

func readDockerignore(t *testing.T) []string {
	t.Helper()
	var patterns []string
	for _, line := range strings.Split(readFile(t, ".dockerignore"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	return patterns
}

// dockerignored applies .dockerignore rules as Docker does: patterns are
// anchored at the context root, ** spans directories, a pattern that matches
// a directory drops everything under it, the last matching rule wins and !
// keeps a file.
func dockerignored(patterns []string, path string) bool {
	ignored := false
	for _, p := range patterns {
		keep := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		re := regexp.QuoteMeta(p)
		re = strings.ReplaceAll(re, `\*\*/`, `(.*/)?`)
		re = strings.ReplaceAll(re, `\*`, `[^/]*`)
		re = strings.ReplaceAll(re, `\?`, `[^/]`)
		if regexp.MustCompile(`^` + re + `(/.*)?$`).MatchString(path) {
			ignored = !keep
		}
	}
	return ignored
}

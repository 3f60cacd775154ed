package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/common/version"
)

func TestStampFromBuildInfo(t *testing.T) {
	const rev = "e018bd1c0ffee0123456789abcdef0123456789a"
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: rev},
		{Key: "vcs.time", Value: "2026-11-26T10:20:30Z"},
	}
	tests := []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     buildStamp
	}{{
		name:    "go install of a release tag: no VCS data in a module zip",
		version: "v0.2.0",
		want:    buildStamp{Version: "0.2.0", Branch: "unknown"},
	}, {
		name:    "go install of a commit: the revision is in the pseudo-version",
		version: "v0.2.1-0.20261126102030-e018bd1c0ffe",
		want:    buildStamp{Version: "0.2.1-0.20261126102030-e018bd1c0ffe", Revision: "e018bd1c0ffe", Branch: "unknown"},
	}, {
		name:     "local build of a clean checkout",
		version:  "v0.0.0-20261126102030-e018bd1c0ffe",
		settings: append(vcs, debug.BuildSetting{Key: "vcs.modified", Value: "false"}),
		want:     buildStamp{Version: "0.0.0-20261126102030-e018bd1c0ffe", Revision: rev, Branch: "unknown", BuildDate: "20261126-10:20:30"},
	}, {
		name:     "local build with uncommitted changes",
		version:  "v0.0.0-20261126102030-e018bd1c0ffe+dirty",
		settings: append(vcs, debug.BuildSetting{Key: "vcs.modified", Value: "true"}),
		want:     buildStamp{Version: "0.0.0-20261126102030-e018bd1c0ffe+dirty", Revision: rev + "-modified", Branch: "unknown", BuildDate: "20261126-10:20:30"},
	}, {
		name:    "built without VCS data (-buildvcs=false, a source tarball)",
		version: "(devel)",
		want:    buildStamp{Branch: "unknown"},
	}, {
		name:    "a pre-release tag is not a pseudo-version",
		version: "v1.0.0-rc-abcdefabcdef",
		want:    buildStamp{Version: "1.0.0-rc-abcdefabcdef", Branch: "unknown"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/smtp-exporter/smtp_exporter", Version: tt.version}, Settings: tt.settings}
			if got := stampFromBuildInfo(info); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFillVersionKeepsLinkerStamp(t *testing.T) {
	saved := buildStamp{version.Version, version.Revision, version.Branch, version.BuildDate}
	t.Cleanup(func() { setVersionVars(saved) })

	setVersionVars(buildStamp{Version: "0.2.0", Revision: "abc"}) // as -ldflags -X would
	fillVersion(buildStamp{Version: "0.0.0-x", Revision: "def", Branch: "unknown", BuildDate: "20261126-10:20:30"})
	got := buildStamp{version.Version, version.Revision, version.Branch, version.BuildDate}
	want := buildStamp{Version: "0.2.0", Revision: "abc", Branch: "unknown", BuildDate: "20261126-10:20:30"}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func setVersionVars(st buildStamp) {
	version.Version, version.Revision, version.Branch, version.BuildDate = st.Version, st.Revision, st.Branch, st.BuildDate
}

// TestPlainGoBuildVersion builds the exporter as `go build` does by default
// (no ldflags) in a git checkout and checks that --version names the commit.
func TestPlainGoBuildVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git:", err)
	}
	dir, head := commitWorkingTree(t)
	bin := filepath.Join(t.TempDir(), "smtp_exporter")
	// -buildvcs=true is go build's default in a checkout; said explicitly
	// because a machine may turn it off in GOFLAGS.
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`^smtp_exporter, version (\S+) \(branch: unknown, revision: ([0-9a-f]{40})\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("--version does not name a version and revision:\n%s", out)
	}
	if string(m[2]) != head {
		t.Errorf("revision %s, want the commit %s", m[2], head)
	}
	if want := "0.0.0-"; !strings.HasPrefix(string(m[1]), want) || !strings.HasSuffix(string(m[1]), head[:12]) {
		t.Errorf("version %s, want the pseudo-version %s…-%s", m[1], want, head[:12])
	}
	if !regexp.MustCompile(`build date:\s+\d{8}-\d\d:\d\d:\d\d`).Match(out) {
		t.Errorf("no build date (the commit time):\n%s", out)
	}
}

// commitWorkingTree copies the files of this checkout (tracked and new, as
// they are now) into a fresh repository and commits them. A fresh clone
// rather than this directory: Go stamps no VCS data in a linked git worktree,
// whose .git is a file (golang/go#58218), and the test must see this code.
func commitWorkingTree(t *testing.T) (dir, head string) {
	t.Helper()
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("git %v: %v", args, err) // not a checkout (a source tarball)
		}
		return strings.TrimSpace(string(out))
	}
	root := git(".", "rev-parse", "--show-toplevel")
	dir = t.TempDir()
	for _, name := range strings.Split(git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the working tree, or the trailing ""
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(dir, "init", "-q")
	git(dir, "add", "-A")
	git(dir, "commit", "-q", "-m", "TestPlainGoBuildVersion")
	return dir, git(dir, "rev-parse", "HEAD")
}

// TestVersionWithoutVCSData: this test binary has no linker stamp and, on
// machines built with -buildvcs=false or in a git worktree, no VCS data
// either; the embedded VERSION file still names the release.
func TestVersionWithoutVCSData(t *testing.T) {
	if version.Version == "" {
		t.Fatal("no version at all")
	}
	if info, ok := debug.ReadBuildInfo(); ok && stampFromBuildInfo(info).Version == "" && version.Version != strings.TrimSpace(versionFile) {
		t.Errorf("version %q, want the VERSION file's %q", version.Version, strings.TrimSpace(versionFile))
	}
}

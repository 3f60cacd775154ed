package main

import (
	_ "embed"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/common/version"
)

// A binary built by `make build` or a release has its version stamped by the
// linker (-X github.com/prometheus/common/version.*). One built by plain
// `go build` or `go install …@vX` has not, but the Go toolchain records the
// module version and, in a git checkout, the commit in the binary itself.
// This runs in init so that --version, the start-up log and
// smtp_exporter_build_info all see it, whatever entry point runs first.
func init() {
	var st buildStamp
	if info, ok := debug.ReadBuildInfo(); ok {
		st = stampFromBuildInfo(info)
	}
	// Without VCS data (a tarball, -buildvcs=false, a git worktree) the
	// VERSION file the binary was built from still names the release.
	if st.Version == "" {
		st.Version = strings.TrimSpace(versionFile)
	}
	fillVersion(st)
}

// versionFile is the VERSION file of the tree the binary was built from.
//
//go:embed VERSION
var versionFile string

// buildStamp holds the fields of prometheus/common/version that a build sets.
type buildStamp struct {
	Version, Revision, Branch, BuildDate string
}

// stampFromBuildInfo reads what `go build` and `go install` record:
// Main.Version is "v1.2.3" for `go install …@v1.2.3`, a pseudo-version for a
// local build of a git checkout (Go ≥ 1.24) and "(devel)" without VCS data;
// the vcs.* settings exist only for a local build of a checkout.
func stampFromBuildInfo(info *debug.BuildInfo) buildStamp {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	var st buildStamp
	if v := info.Main.Version; v != "" && v != "(devel)" {
		st.Version = strings.TrimPrefix(v, "v")
		st.Revision = pseudoVersionRevision(v)
	}
	if rev := settings["vcs.revision"]; rev != "" {
		st.Revision = rev
		if settings["vcs.modified"] == "true" {
			st.Revision += "-modified" // as prometheus/common spells it
		}
	}
	// The commit time, not the build time: the build stays reproducible.
	if t, err := time.Parse(time.RFC3339, settings["vcs.time"]); err == nil {
		st.BuildDate = t.UTC().Format("20060102-15:04:05") // the Makefile's format
	}
	// Git does not record the branch in the binary; say so rather than print "".
	st.Branch = "unknown"
	return st
}

// pseudoVersionRevision returns the 12-hex-digit commit prefix that ends a Go
// pseudo-version (v0.0.0-20260101120000-0123456789ab), "" for a release tag.
func pseudoVersionRevision(v string) string {
	v, _, _ = strings.Cut(v, "+") // +dirty, +incompatible
	parts := strings.Split(v, "-")
	if len(parts) < 3 {
		return ""
	}
	stamp, rev := parts[len(parts)-2], parts[len(parts)-1]
	if len(stamp) < 14 || !onlyOf(stamp[len(stamp)-14:], "0123456789") ||
		len(rev) != 12 || !onlyOf(rev, "0123456789abcdef") {
		return ""
	}
	return rev
}

// onlyOf reports whether every byte of s is one of digits.
func onlyOf(s, digits string) bool {
	return strings.Trim(s, digits) == ""
}

// fillVersion sets the fields the linker left empty; a stamped build wins.
func fillVersion(st buildStamp) {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&version.Version, st.Version)
	fill(&version.Revision, st.Revision)
	fill(&version.Branch, st.Branch)
	fill(&version.BuildDate, st.BuildDate)
}

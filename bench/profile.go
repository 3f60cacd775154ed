package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// profiled is one side's perf profile over a measured window.
type profiled struct {
	side     string
	sample   sample
	self     map[string]float64 // symbol → % of the side's samples spent in it
	children map[string]float64 // symbol → % spent in it and what it calls
}

// profile records the HTTP floor's and the exporter's CPU with perf over
// -n probes at the last -c level, and prints where the exporter's CPU goes
// beyond the floor's: by category of the function the CPU was spent in, and
// by function with what it calls. The perf files stay in -perf DIR.
func (e *env) profile() error {
	if _, err := exec.LookPath("perf"); err != nil {
		return errors.New("perf not found (Debian: apt-get install linux-perf)")
	}
	if err := os.MkdirAll(e.opt.perfDir, 0o755); err != nil {
		return err
	}
	sides, err := e.sides()
	if err != nil {
		return err
	}
	c := e.opt.conc[len(e.opt.conc)-1]
	var got []profiled
	for _, s := range sides {
		if s.name != sideFloor && s.name != sideExporter {
			continue
		}
		progress("perf record: %s c=%d", s.name, c)
		file := filepath.Join(e.opt.perfDir, s.name+".perf.data")
		smp, err := measure(s.srv, load{path: s.path, want: "probe_success 1", n: e.opt.n, c: c, onWindow: perfRecord(file)})
		if err != nil {
			return err
		}
		p := profiled{side: s.name, sample: smp}
		if p.self, err = perfReport(file, "--no-children"); err != nil {
			return err
		}
		if p.children, err = perfReport(file, "--children"); err != nil {
			return err
		}
		got = append(got, p)
	}
	printProfile(os.Stdout, got, c, e.opt.n)
	return nil
}

// perfRecord attaches `perf record -g` to the process for the measured window.
func perfRecord(file string) func(pid int) (func(), error) {
	return func(pid int) (func(), error) {
		cmd := exec.Command("perf", "record", "-q", "-g", "-F", "1999", "-p", strconv.Itoa(pid), "-o", file)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		time.Sleep(200 * time.Millisecond) // perf needs a moment to attach
		return func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		}, nil
	}
}

// perfReport reads perf's flat report: symbol → percent (self, or the
// first column, children, with --children). Kernel symbols get "[k] ".
func perfReport(file, mode string) (map[string]float64, error) {
	out, err := exec.Command("perf", "report", "-i", file, mode, "--sort", "sym", "-g", "none",
		"--stdio", "-q", "--percent-limit", "0").Output()
	if err != nil {
		return nil, fmt.Errorf("perf report %s: %w", file, err)
	}
	res := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// "12.34%  [.] sym" or, with --children, "45.67%  1.23%  [.] sym".
		i := slices.IndexFunc(f, func(s string) bool { return s == "[.]" || s == "[k]" })
		if i < 1 || i+1 >= len(f) {
			continue
		}
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
		if err != nil {
			continue
		}
		sym := strings.Join(f[i+1:], " ")
		if f[i] == "[k]" {
			sym = "[k] " + sym
		}
		res[sym] += pct
	}
	return res, sc.Err()
}

// category is where a symbol's self time belongs; first match wins.
var categories = []struct {
	name     string
	prefixes []string
}{
	{"kernel (TCP on loopback, syscalls, scheduling)", []string{"[k] "}},
	{"crypto (TLS handshake, x509 verification)", []string{"crypto/", "vendor/golang.org/x/crypto/", "golang.org/x/crypto/", "math/big."}},
	{"Go GC (mark, sweep, write barriers)", []string{"runtime.gc", "runtime.scan", "runtime.greyobject", "runtime.markBits",
		"runtime.findObject", "runtime.(*gcWork)", "runtime.wbBuf", "runtime.bulkBarrier", "runtime.(*mspan).sweep", "runtime.sweepone",
		"runtime.(*sweepLocked)", "runtime.markroot", "runtime.(*spanInlineMarkBits)", "runtime.tryDeferToSpanScan", "runtime.typePointers",
		"runtime.(*mspan).typePointersOf", "runtime.spanOf", "runtime.(*gcBits)", "runtime.(*gcControllerState)", "runtime.gcDrain"}},
	{"Go allocation", []string{"runtime.mallocgc", "runtime.nextFreeFast", "runtime.(*mcache)", "runtime.(*mcentral)", "runtime.(*mheap)",
		"runtime.memclrNoHeapPointers", "runtime.newobject", "runtime.makeslice", "runtime.growslice", "runtime.(*mspan)", "runtime.heapSetType",
		"runtime.rawstring", "runtime.rawbyteslice", "runtime.makemap", "runtime.newarray", "runtime.deductAssistCredit", "runtime.(*pageAlloc)",
		"runtime.concatstring", "runtime.slicebytetostring", "runtime.stringtoslicebyte"}},
	{"Go runtime other (scheduler, timers, maps, channels, locks)", []string{"runtime.", "internal/runtime/", "sync.", "sync/atomic.", "internal/sync."}},
	{"syscall wrappers, internal/poll, net", []string{"syscall.", "internal/poll.", "net.", "internal/syscall/", "os."}},
	{"net/http, bufio, URL parsing", []string{"net/http.", "net/textproto.", "net/url.", "mime", "bufio.", "vendor/golang.org/x/net/"}},
	{"smtp_exporter's own code", []string{"github.com/smtp-exporter/"}},
	{"Prometheus client, expfmt, protobuf", []string{"github.com/prometheus/", "google.golang.org/protobuf/"}},
	{"log/slog", []string{"log/slog."}},
	{"fmt, strconv, strings, time, reflect, …", []string{"fmt.", "strconv.", "strings.", "bytes.", "time.", "sort.", "slices.", "reflect.",
		"unicode", "internal/bytealg.", "internal/fmtsort", "internal/reflectlite", "errors.", "encoding/", "cmp.", "maps.", "io.", "context.",
		"net/netip.", "internal/stringslite", "internal/itoa", "math."}},
}

const otherCategory = "other"

func categoryOf(sym string) string {
	for _, c := range categories {
		for _, p := range c.prefixes {
			if strings.HasPrefix(sym, p) {
				return c.name
			}
		}
	}
	return otherCategory
}

// byCategory sums self percentages into ms per probe by category.
func (p profiled) byCategory() map[string]float64 {
	total := 0.0
	for _, pct := range p.self {
		total += pct
	}
	out := map[string]float64{}
	for sym, pct := range p.self {
		out[categoryOf(sym)] += pct / total * p.sample.CPUMsPerProbe
	}
	return out
}

// printProfile shows the exporter against the floor in CPU ms per probe:
// self time by category; the same stages side by side; the exporter's own
// functions with what they call; the functions whose self time grew most.
func printProfile(w io.Writer, got []profiled, c, n int) {
	var floor, exp profiled
	for _, p := range got {
		switch p.side {
		case sideFloor:
			floor = p
		case sideExporter:
			exp = p
		}
	}
	fmt.Fprintf(w, "\nperf profile over %d probes at c=%d (perf itself adds a little CPU)\n", n, c)
	fmt.Fprintf(w, "CPU ms per probe: HTTP floor %.3f, smtp_exporter %.3f, beyond the floor %.3f\n",
		floor.sample.CPUMsPerProbe, exp.sample.CPUMsPerProbe, exp.sample.CPUMsPerProbe-floor.sample.CPUMsPerProbe)
	fmt.Fprintf(w, "\nSelf time by category\n  %-60s %8s %9s %8s\n", "", "floor", "exporter", "beyond")
	fc, ec := floor.byCategory(), exp.byCategory()
	for _, cat := range categories {
		fmt.Fprintf(w, "  %-60s %8.3f %9.3f %+8.3f\n", cat.name, fc[cat.name], ec[cat.name], ec[cat.name]-fc[cat.name])
	}
	fmt.Fprintf(w, "  %-60s %8.3f %9.3f %+8.3f\n", otherCategory, fc[otherCategory], ec[otherCategory], ec[otherCategory]-fc[otherCategory])

	fmt.Fprintf(w, "\nThe same stages, inclusive (self + callees)\n  %-60s %8s %9s %8s\n", "", "floor", "exporter", "beyond")
	for _, st := range stages {
		f, x := floor.inclusiveMs(st.floor), exp.inclusiveMs(st.exporter)
		fmt.Fprintf(w, "  %-60s %8.3f %9.3f %+8.3f\n", st.name, f, x, x-f)
	}
	fmt.Fprintln(w, "\nsmtp_exporter's own functions, inclusive (self + callees), ms per probe")
	for _, sym := range top(exp.children, 40, func(s string) bool { return strings.HasPrefix(s, exporterPkg) }) {
		fmt.Fprintf(w, "  %-90s %8.3f\n", shorten(sym, 90), exp.inclusiveMs(sym))
	}
	fmt.Fprintf(w, "\nFunctions whose self time grew most over the floor's\n  %-90s %8s %9s %8s\n", "", "floor", "exporter", "beyond")
	growth := map[string]float64{}
	for sym := range exp.self {
		growth[sym] = exp.selfMs(sym) - floor.selfMs(sym)
	}
	for _, sym := range top(growth, 30, func(string) bool { return true }) {
		fmt.Fprintf(w, "  %-90s %8.3f %9.3f %+8.3f\n", shorten(sym, 90), floor.selfMs(sym), exp.selfMs(sym), growth[sym])
	}
}

const exporterPkg = "github.com/smtp-exporter/smtp_exporter/"

// stages pair the floor's function with the exporter's doing the same step.
var stages = []struct{ name, floor, exporter string }{
	{"HTTP connection (all of a request)", "net/http.(*conn).serve", "net/http.(*conn).serve"},
	{"/probe handler", "main.serveFloor.func1", exporterPkg + "web.(*Handler).ServeHTTP"},
	{"the SMTP dialogue", "main.dialogue", exporterPkg + "prober.Run"},
	{"TLS handshake with certificate verification", "crypto/tls.(*Conn).handshakeContext", exporterPkg + "prober.(*dialogue).handshake"},
	{"  of which x509 verification", "crypto/x509.(*Certificate).Verify", "crypto/x509.(*Certificate).Verify"},
	{"TCP connect", "net.(*Dialer).DialContext", exporterPkg + "prober.dialTCP"},
	{"Go GC background marking", "runtime.gcBgMarkWorker", "runtime.gcBgMarkWorker"},
	{"Go allocation (mallocgc, all callers)", "runtime.mallocgc", "runtime.mallocgc"},
	{"Go scheduler (runtime.schedule)", "runtime.schedule", "runtime.schedule"},
	{"Go sysmon thread", "runtime.sysmon", "runtime.sysmon"},
	{"exporter only: per-probe log records (prober.Log)", "", exporterPkg + "prober.Log"},
	{"exporter only: metric families (collector.Families)", "", exporterPkg + "collector.Families"},
	{"exporter only: encoding them (Exposition.Append)", "", exporterPkg + "collector.(*Exposition).Append"},
	{"exporter only: format negotiation (collector.Negotiate)", "", exporterPkg + "collector.Negotiate"},
	{"exporter only: history (History.Add)", "", exporterPkg + "web.(*History).Add"},
	{"exporter only: phase summary for the history", "", exporterPkg + "runner.PhaseSummary"},
	{"exporter only: request (runner.Resolve)", "", exporterPkg + "runner.Resolve"},
}

func (p profiled) inclusiveMs(sym string) float64 {
	return p.children[sym] / 100 * p.sample.CPUMsPerProbe
}

func (p profiled) selfMs(sym string) float64 {
	total := 0.0
	for _, pct := range p.self {
		total += pct
	}
	return p.self[sym] / total * p.sample.CPUMsPerProbe
}

// top are the k keys with the largest values among those keep accepts.
func top(m map[string]float64, k int, keep func(string) bool) []string {
	var keys []string
	for s := range m {
		if keep(s) {
			keys = append(keys, s)
		}
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	return keys[:min(len(keys), k)]
}

func shorten(s string, n int) string {
	s = strings.TrimPrefix(s, exporterPkg)
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// Command bench measures what one STARTTLS probe costs, side by side in one
// run: every side in a fresh process each round, the sides taking turns in
// chunks of probes so that a shared machine's noise falls on all alike:
//
//   - the bare dialogue in one process, no HTTP (bench/floor -bare);
//   - the HTTP floor: that dialogue behind net/http with a fixed answer (bench/floor -serve);
//   - the same floor in a program built with smtp_exporter's libraries (bench/floorlibs);
//   - smtp_exporter's /probe;
//   - blackbox_exporter's STARTTLS query_response module, when installed.
//
// The server for all is prober/smtptest's STARTTLS server on loopback with a
// test CA that every side verifies against. CPU per probe is the side's
// process CPU time (all threads, user+system) over the probes; peak RSS is
// its VmHWM. -full adds the concurrency curve, the submission and mx probes'
// cost and the history's memory; -perf profiles the exporter and the floor.
// Run it with bench/run.sh (make bench, make bench-full).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

type options struct {
	exporter, floor, blackbox string
	floorLibs                 string
	n, rounds, chunk          int
	conc                      []int
	cost                      bool
	mxHosts                   []int
	historyLimits             []int
	tarpit                    bool
	perfDir                   string
	json                      bool
	aa                        bool     // measure the floor a second time, as if it were another side
	sides                     []string // only these sides; empty: all this machine has
}

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.exporter, "exporter", "./smtp_exporter", "smtp_exporter binary")
	flag.StringVar(&o.floor, "floor", "./floor", "the floor binary (bench/floor)")
	flag.StringVar(&o.floorLibs, "floorlibs", "./floorlibs", "the floor built with the exporter's libraries (bench/floorlibs; left out when missing)")
	flag.StringVar(&o.blackbox, "blackbox", "/usr/bin/prometheus-blackbox-exporter", "blackbox_exporter binary (left out when missing)")
	flag.IntVar(&o.n, "n", 2000, "probes per side and round")
	flag.IntVar(&o.chunk, "chunk", 0, "probes per turn when the sides take turns (0: max(48, 3×c))")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each side's median over them is reported")
	conc := flag.String("c", "1,16", "concurrency levels")
	full := flag.Bool("full", false, "also the curve (-c 1,16,64,256), the submission and mx cost, the history at 1000")
	flag.BoolVar(&o.cost, "cost", false, "measure the submission and mx probes against STARTTLS probes")
	mx := flag.String("mx", "1,4", "MX hosts of the mx probes measured with -cost")
	history := flag.String("history", "0,100", "--history.limit values whose memory is measured")
	flag.BoolVar(&o.tarpit, "tarpit", true, "end with 1000 concurrent probes of silent and drip-feeding servers")
	flag.StringVar(&o.perfDir, "perf", "", "only profile the exporter and the floor at the last -c level with perf, into this directory")
	flag.BoolVar(&o.json, "json", false, "print JSON instead of tables")
	flag.BoolVar(&o.aa, "aa", false, "also measure the HTTP floor a second time (an A/A check: the ratio of the floor to itself is the bench's resolution)")
	sides := flag.String("sides", "", "only these sides, comma-separated (bare, floor, exporter, blackbox); default all")
	flag.Parse()
	if *full {
		*conc, o.cost = "1,16,64,256", true
		if !isFlagSet("history") {
			*history = "0,100,1000"
		}
	}
	if *sides != "" {
		o.sides = strings.Split(*sides, ",")
	}
	var err error
	for _, l := range []struct {
		s   string
		dst *[]int
	}{{*conc, &o.conc}, {*mx, &o.mxHosts}, {*history, &o.historyLimits}} {
		if *l.dst, err = ints(l.s); err != nil {
			return o, err
		}
	}
	return o, nil
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad list %q", s)
		}
		out = append(out, v)
	}
	return out, nil
}

func main() {
	opt, err := parseFlags()
	if err == nil {
		err = run(opt)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// env is what the measurements share: the STARTTLS server under test, its CA.
type env struct {
	opt    options
	t      *tb
	dir    string
	caPath string
	target string // the STARTTLS server, 127.0.0.1:PORT
	ca     *smtptest.CA
}

func run(opt options) error {
	dir, err := os.MkdirTemp("", "smtp-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t := &tb{dir: dir}
	defer t.cleanup()
	ca := smtptest.NewCA(t)
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, GreetAtOnce: true})
	e := &env{opt: opt, t: t, dir: dir, caPath: ca.PEMFile(t), target: srv.Addr, ca: ca}
	if opt.perfDir != "" {
		return e.profile()
	}
	out := &output{Probes: opt.n, Rounds: opt.rounds, Concurrency: opt.conc, CPUs: runtime.NumCPU(), LoadBefore: loadAverage()}
	out.Chunk = fmt.Sprint(e.chunkSize(opt.conc[0]))
	if len(opt.conc) > 1 && opt.chunk == 0 {
		out.Chunk = "max(48, 3×c)"
	}
	steps := []func(*output) error{e.compare, e.memory}
	if opt.cost {
		steps = append(steps, e.cost)
	}
	if opt.tarpit {
		steps = append(steps, e.tarpit)
	}
	for _, step := range steps {
		if err := step(out); err != nil {
			return err
		}
	}
	progress("")
	out.LoadAfter = loadAverage()
	return out.print(os.Stdout, opt.json)
}

// compare measures every side at every concurrency level, rounds times:
// each round starts every side afresh and lets them take turns (measureRound).
func (e *env) compare(out *output) error {
	sides, err := e.sides()
	if err != nil {
		return err
	}
	for _, s := range sides {
		out.Sides = append(out.Sides, s.name)
	}
	for r := range e.opt.rounds {
		for _, c := range e.opt.conc {
			runs, err := e.measureRound(sides, c, r)
			if err != nil {
				return err
			}
			out.Runs = append(out.Runs, runs...)
		}
	}
	return nil
}

// progress says on a terminal what is being measured; the line is overwritten.
func progress(format string, args ...any) {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprintf(os.Stderr, "\r\033[K"+format, args...)
	}
}

// tb lets smtptest run outside `go test`.
type tb struct {
	dir      string
	cleanups []func()
}

func (t *tb) Helper()           {}
func (t *tb) Fatal(args ...any) { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (t *tb) Cleanup(f func())  { t.cleanups = append(t.cleanups, f) }
func (t *tb) TempDir() string   { return t.dir }

func (t *tb) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"time"
)

// instance is one side running in a fresh process of its own, doing probes
// in chunks when asked. All sides of a round run at once but take turns:
// only one side's chunk runs at a time, so each is measured alone, and the
// shared machine's slow and fast seconds fall on every side alike.
type instance struct {
	name  string
	pid   int
	run   func(n int) error // n probes at the level's concurrency
	alloc func() (bytes, mallocs float64)
	stop  func()

	cpu, wall time.Duration // over the measured chunks only
	probes    int
}

// startInstance starts side s for probes at concurrency c and warms it up.
func (e *env) startInstance(s side, c int) (*instance, error) {
	var (
		in  *instance
		err error
	)
	if s.name == sideBare {
		in, err = e.startBare(c)
	} else {
		in, err = startHTTP(s, c)
	}
	if err != nil {
		return nil, err
	}
	if err := in.run(warmup(c)); err != nil {
		in.stop()
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	return in, nil
}

func startHTTP(s side, c int) (*instance, error) {
	p, err := s.srv.start()
	if err != nil {
		return nil, err
	}
	sc := newScraper(c)
	url := "http://" + p.addr + s.path
	return &instance{name: s.name, pid: p.pid(),
		run:   func(n int) error { return parallel(n, c, func() error { return sc.get(url, "probe_success 1") }) },
		alloc: func() (float64, float64) { return readAlloc(s.srv, p) },
		stop:  func() { sc.close(); p.stop() },
	}, nil
}

// startBare runs the bare dialogue (bench/floor -bare): a process
// with no HTTP that runs "N C" probes for each line it reads and answers
// with its allocations so far.
func (e *env) startBare(c int) (*instance, error) {
	cmd := exec.Command(e.opt.floor, "-bare", e.target, "-ca", e.caPath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	replies := bufio.NewScanner(stdout)
	var bytes, mallocs float64
	in := &instance{name: sideBare, pid: cmd.Process.Pid}
	in.run = func(n int) error {
		if _, err := fmt.Fprintf(stdin, "%d %d\n", n, c); err != nil {
			return err
		}
		if !replies.Scan() {
			return fmt.Errorf("bare dialogue ended: %v", replies.Err())
		}
		if _, err := fmt.Sscan(replies.Text(), &bytes, &mallocs); err != nil {
			return fmt.Errorf("bare dialogue said %q", replies.Text())
		}
		return nil
	}
	in.alloc = func() (float64, float64) { return bytes, mallocs }
	in.stop = func() { _ = stdin.Close(); _, _ = io.Copy(io.Discard, stdout); _ = cmd.Wait() }
	return in, nil
}

// chunk is one turn of an instance: probes and the CPU they took.
func (in *instance) chunk(n int) error {
	cpu0, err := cpuTime(in.pid)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := in.run(n); err != nil {
		return err
	}
	in.wall += time.Since(start)
	cpu1, err := cpuTime(in.pid)
	if err != nil {
		return err
	}
	in.cpu += cpu1 - cpu0
	in.probes += n
	return nil
}

// measureRound measures every side at concurrency c: n probes each, in
// chunks taken in turn, the order turning by one each chunk (and by the
// round, so no side always starts).
func (e *env) measureRound(sides []side, c, round int) ([]measurement, error) {
	var ins []*instance
	defer func() {
		for _, in := range ins {
			in.stop()
		}
	}()
	for _, s := range sides {
		in, err := e.startInstance(s, c)
		if err != nil {
			return nil, fmt.Errorf("%s c=%d: %w", s.name, c, err)
		}
		ins = append(ins, in)
	}
	type allocs struct{ bytes, mallocs float64 }
	before := make([]allocs, len(ins))
	for i, in := range ins {
		before[i].bytes, before[i].mallocs = in.alloc()
	}
	size := e.chunkSize(c)
	for k := 0; k*size < e.opt.n; k++ {
		n := min(size, e.opt.n-k*size)
		for j := range ins {
			in := ins[(j+k+round)%len(ins)]
			progress("round %d/%d c=%d %s %d/%d", round+1, e.opt.rounds, c, in.name, in.probes, e.opt.n)
			if err := in.chunk(n); err != nil {
				return nil, fmt.Errorf("%s c=%d: %w", in.name, c, err)
			}
		}
	}
	var out []measurement
	for i, in := range ins {
		b, m := in.alloc()
		out = append(out, measurement{Side: in.name, C: c, Round: round, Sample: sample{
			CPUMsPerProbe:   float64(in.cpu) / float64(time.Millisecond) / float64(in.probes),
			PerSecond:       float64(in.probes) / in.wall.Seconds(),
			PeakRSSMB:       statusMB(in.pid, "VmHWM"),
			AllocKBPerProbe: (b - before[i].bytes) / 1024 / float64(in.probes),
			MallocsPerProbe: (m - before[i].mallocs) / float64(in.probes),
			RSSAnonMB:       statusMB(in.pid, "RssAnon"),
			RSSFileMB:       statusMB(in.pid, "RssFile"),
		}})
	}
	return out, nil
}

// chunkSize is the probes of one turn: enough for c workers to run a few
// waves, few enough for many turns per measurement (the more turns, the
// more evenly the machine's noise falls; at c=16, 48 rather than 128 probes
// a turn narrowed the spread of a side measured against itself from
// 0.94–1.11 to 0.97–1.01 round by round).
func (e *env) chunkSize(c int) int {
	if e.opt.chunk > 0 {
		return e.opt.chunk
	}
	return max(48, 3*c)
}

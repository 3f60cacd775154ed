package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smtp-exporter/smtp_exporter/bench/floor/floorkit"
)

// sample is one measurement of one side: n probes at concurrency c in a
// fresh process.
type sample struct {
	CPUMsPerProbe   float64 `json:"cpu_ms_per_probe"`
	PerSecond       float64 `json:"probes_per_second"`
	PeakRSSMB       float64 `json:"peak_rss_mb"`
	AllocKBPerProbe float64 `json:"alloc_kb_per_probe"`
	MallocsPerProbe float64 `json:"mallocs_per_probe"`
	// The resident set when the probes ended: anonymous (heap, stacks) and
	// file-backed (the binary's pages read).
	RSSAnonMB float64 `json:"rss_anon_mb"`
	RSSFileMB float64 `json:"rss_file_mb"`
}

// prometheusAccept is what Prometheus 3 sends with its default scrape
// protocols; its client also asks for gzip, as Go's does unasked.
const prometheusAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
	"application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3," +
	"text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

// scraper asks for probes as Prometheus does: keep-alive connections, its
// Accept and scrape-timeout headers. The same client serves every HTTP side.
type scraper struct{ client *http.Client }

func newScraper(c int) *scraper {
	return &scraper{client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxIdleConns: c}}}
}

// get fetches url and checks that the answer contains want.
func (s *scraper) get(url, want string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", prometheusAccept)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("%s: status %d, no %q in:\n%s", url, resp.StatusCode, want, body)
	}
	return nil
}

func (s *scraper) close() { s.client.CloseIdleConnections() }

// load is n probes at concurrency c of path on a fresh process of srv,
// after a warm-up; during the measured window onWindow (if set) runs with
// the process's PID and returns a function that ends it (perf record).
type load struct {
	path, want string
	n, c       int
	onWindow   func(pid int) (end func(), err error)
}

// measure starts srv afresh, runs l and reads the process's CPU time, peak
// RSS and allocations; the CPU of its start-up and warm-up is not counted.
func measure(srv server, l load, extraArgs ...string) (sample, error) {
	p, err := srv.start(extraArgs...)
	if err != nil {
		return sample{}, err
	}
	defer p.stop()
	sc := newScraper(l.c)
	defer sc.close()
	probe := func() error { return sc.get("http://"+p.addr+l.path, l.want) }
	if err := parallel(warmup(l.c), l.c, probe); err != nil {
		return sample{}, err
	}
	bytes0, mallocs0 := readAlloc(srv, p)
	cpu0, err := cpuTime(p.pid())
	if err != nil {
		return sample{}, err
	}
	end := func() {}
	if l.onWindow != nil {
		if end, err = l.onWindow(p.pid()); err != nil {
			return sample{}, err
		}
	}
	start := time.Now()
	err = parallel(l.n, l.c, probe)
	wall := time.Since(start)
	cpu1, _ := cpuTime(p.pid())
	end()
	if err != nil {
		return sample{}, err
	}
	bytes1, mallocs1 := readAlloc(srv, p)
	return sample{
		CPUMsPerProbe:   float64(cpu1-cpu0) / float64(time.Millisecond) / float64(l.n),
		PerSecond:       float64(l.n) / wall.Seconds(),
		PeakRSSMB:       statusMB(p.pid(), "VmHWM"),
		AllocKBPerProbe: (bytes1 - bytes0) / 1024 / float64(l.n),
		MallocsPerProbe: (mallocs1 - mallocs0) / float64(l.n),
		RSSAnonMB:       statusMB(p.pid(), "RssAnon"),
		RSSFileMB:       statusMB(p.pid(), "RssFile"),
	}, nil
}

// warmup is the probes run before measuring: every worker's connection is
// open and the process past its first-probe costs.
func warmup(c int) int { return max(c, 20) }

func readAlloc(srv server, p *proc) (bytes, mallocs float64) {
	if srv.alloc == nil {
		return 0, 0
	}
	b, m, err := srv.alloc(p)
	if err != nil {
		return 0, 0
	}
	return b, m
}

// goAlloc reads go_memstats_alloc_bytes_total and go_memstats_mallocs_total
// from an exporter's /metrics.
func goAlloc(p *proc) (bytes, mallocs float64, err error) {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	return metricValue(string(body), "go_memstats_alloc_bytes_total"), metricValue(string(body), "go_memstats_mallocs_total"), nil
}

// floorAlloc reads the floor's /alloc: "TotalAlloc Mallocs".
func floorAlloc(p *proc) (bytes, mallocs float64, err error) {
	resp, err := http.Get("http://" + p.addr + "/alloc")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, err = fmt.Fscan(resp.Body, &bytes, &mallocs)
	return bytes, mallocs, err
}

// metricValue is the value of an unlabelled sample in a text exposition.
func metricValue(body, name string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// parallel is floorkit.Parallel: fn n times on c workers, the first error.
var parallel = floorkit.Parallel

// Command floor is the yardstick of bench/: the bare STARTTLS dialogue an
// exporter must do for every probe (connect, greeting, EHLO, STARTTLS, a full
// TLS handshake verifying the certificate, EHLO, QUIT) and nothing else.
//
//	floor -serve ADDR            the HTTP floor: GET /probe?target=HOST:PORT runs the
//	                             dialogue behind net/http and writes a fixed answer
//	floor -bare TARGET -n -c     the bare dialogue in this one process, no HTTP; prints
//	                             its CPU ms per probe, probes/s, peak RSS and allocations
//
// It is a separate small program so that its CPU and memory are its own.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	serve := flag.String("serve", "", "serve the HTTP floor on this address")
	bare := flag.String("bare", "", "run the bare dialogue against this HOST:PORT")
	caFile := flag.String("ca", "", "CA certificate (PEM) the server's certificate must verify against")
	n := flag.Int("n", 500, "bare: probes measured")
	c := flag.Int("c", 1, "bare: probes at once")
	warmup := flag.Int("warmup", 0, "bare: probes run before measuring")
	flag.Parse()
	roots, err := loadRoots(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	switch {
	case *serve != "":
		err = serveFloor(*serve, roots)
	case *bare != "":
		err = runBare(*bare, roots, *n, *c, *warmup)
	default:
		err = errors.New("give -serve ADDR or -bare HOST:PORT")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func loadRoots(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", path)
	}
	return roots, nil
}

// dialogue is one STARTTLS probe with net/smtp under a deadline, verifying
// the certificate against roots for the target's host, as a monitor must on
// every probe (no session resumption: it would hide a changed certificate).
func dialogue(target string, roots *x509.CertPool) error {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	if err := cl.Hello("bench.test"); err != nil {
		return err
	}
	// StartTLS says EHLO again over TLS itself.
	if err := cl.StartTLS(&tls.Config{RootCAs: roots, ServerName: host}); err != nil {
		return err
	}
	return cl.Quit()
}

// serveFloor is the HTTP floor: the dialogue behind net/http, answering
// with a fixed exposition of the size an exporter writes for such a probe.
func serveFloor(addr string, roots *x509.CertPool) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/probe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if err := dialogue(r.URL.Query().Get("target"), roots); err != nil {
			_, _ = fmt.Fprintf(w, "probe_success 0\n")
			return
		}
		_, _ = w.Write([]byte(answer))
	})
	// For the bench only, twice a measurement: the allocations so far.
	mux.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		_, _ = fmt.Fprintf(w, "%d %d\n", m.TotalAlloc, m.Mallocs)
	})
	return http.ListenAndServe(addr, mux)
}

// bareResult is what -bare prints, as JSON.
type bareResult struct {
	CPUMsPerProbe    float64 `json:"cpu_ms_per_probe"`
	PerSecond        float64 `json:"probes_per_second"`
	PeakRSSMB        float64 `json:"peak_rss_mb"`
	AllocKBPerProbe  float64 `json:"alloc_kb_per_probe"`
	MallocsPerProbe  float64 `json:"mallocs_per_probe"`
	RSSAnonMB        float64 `json:"rss_anon_mb"`
	RSSFileMB        float64 `json:"rss_file_mb"`
	ProbesCompleted  int     `json:"probes"`
	ConcurrentProbes int     `json:"concurrency"`
}

// runBare runs warmup probes, then n measured ones, c at a time.
func runBare(target string, roots *x509.CertPool, n, c, warmup int) error {
	probe := func() error { return dialogue(target, roots) }
	if err := parallel(warmup, c, probe); err != nil {
		return err
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, start := cpuTime(), time.Now()
	if err := parallel(n, c, probe); err != nil {
		return err
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	runtime.ReadMemStats(&after)
	return json.NewEncoder(os.Stdout).Encode(bareResult{
		CPUMsPerProbe:   float64(cpu.Microseconds()) / 1000 / float64(n),
		PerSecond:       float64(n) / wall.Seconds(),
		PeakRSSMB:       statusMB("VmHWM"),
		RSSAnonMB:       statusMB("RssAnon"),
		RSSFileMB:       statusMB("RssFile"),
		AllocKBPerProbe: float64(after.TotalAlloc-before.TotalAlloc) / 1024 / float64(n),
		MallocsPerProbe: float64(after.Mallocs-before.Mallocs) / float64(n),
		ProbesCompleted: n, ConcurrentProbes: c,
	})
}

// cpuTime is this process's user+system CPU time, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// statusMB is a memory field of /proc/self/status in MB: VmHWM is the
// resident set's high-water mark.
func statusMB(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb float64
			_, _ = fmt.Sscan(rest, &kb)
			return kb / 1024
		}
	}
	return 0
}

// parallel runs fn n times on c workers and returns the first error.
func parallel(n, c int, fn func() error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan struct{}, n)
	)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range c {
		wg.Go(func() {
			for range next {
				if err := fn(); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

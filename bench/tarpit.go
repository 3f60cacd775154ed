package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

type tarpitResult struct {
	Probes          int     `json:"probes"`
	DeadlineSeconds float64 `json:"deadline_seconds"`
	SlowestSeconds  float64 `json:"slowest_probe_seconds"`
	OverDeadline    int     `json:"over_deadline_plus_50ms"`
	SlowestHTTP     float64 `json:"slowest_http_answer_seconds"`
	PeakRSSMB       float64 `json:"peak_rss_mb"`
}

// tarpit sends 1000 concurrent probes through a fresh exporter to servers
// that accept and stay silent or drip-feed bytes: each must end within its
// deadline + 50 ms, and the exporter's peak RSS stay under 100 MB.
func (e *env) tarpit(out *output) error {
	progress("tarpit")
	silent := smtptest.NewHandlerServer(e.t, func(c *smtptest.Conn) { _, _ = io.Copy(io.Discard, c) })
	drip := smtptest.NewHandlerServer(e.t, func(c *smtptest.Conn) {
		for range 100 {
			if _, err := c.Write([]byte("2")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	srv, err := e.exporterServer("bench.yml", exporterConfig(e.caPath))
	if err != nil {
		return err
	}
	p, err := srv.start()
	if err != nil {
		return err
	}
	defer p.stop()
	const probes, deadline = 1000, 2 * time.Second
	res := &tarpitResult{Probes: probes, DeadlineSeconds: deadline.Seconds()}
	var (
		mu      sync.Mutex
		i       int
		client  = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: probes, MaxConnsPerHost: probes}}
		timeout = strconv.FormatFloat(deadline.Seconds()+0.5, 'f', 1, 64) // the probe deadline is this minus the 0.5s offset
	)
	defer client.CloseIdleConnections()
	err = parallel(probes, probes, func() error {
		mu.Lock()
		port := []int{silent.Port, drip.Port}[i%2]
		i++
		mu.Unlock()
		took, wall, err := timedProbe(client, fmt.Sprintf("http://%s/probe?module=bench&target=127.0.0.1:%d", p.addr, port), timeout)
		mu.Lock()
		defer mu.Unlock()
		res.SlowestSeconds = max(res.SlowestSeconds, took.Seconds())
		res.SlowestHTTP = max(res.SlowestHTTP, wall.Seconds())
		if took > deadline+50*time.Millisecond {
			res.OverDeadline++
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("tarpit: %w", err)
	}
	res.PeakRSSMB = statusMB(p.pid(), "VmHWM")
	out.Tarpit = res
	return nil
}

// timedProbe asks for one probe with a scrape timeout: how long it took by
// the exporter's own measure (probe_duration_seconds) and as the client saw it.
func timedProbe(client *http.Client, url, scrapeTimeout string) (took, wall time.Duration, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", scrapeTimeout)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return probeDuration(string(body)), time.Since(start), nil
}

// probeDuration reads probe_duration_seconds from an exposition.
func probeDuration(body string) time.Duration {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "probe_duration_seconds "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return time.Duration(f * float64(time.Second))
		}
	}
	return time.Hour // no duration: count it as late
}

func (r *tarpitResult) print(w io.Writer) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nTarpit: %d concurrent probes (half silent, half drip-fed), deadline %gs\n", r.Probes, r.DeadlineSeconds)
	fmt.Fprintf(w, "  slowest probe %.3fs (deadline + %.0f ms), %d over deadline + 50 ms; slowest HTTP answer %.3fs; exporter peak RSS %.1f MB\n",
		r.SlowestSeconds, (r.SlowestSeconds-r.DeadlineSeconds)*1000, r.OverDeadline, r.SlowestHTTP, r.PeakRSSMB)
}

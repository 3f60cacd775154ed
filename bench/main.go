// Command bench measures the CPU cost of one STARTTLS probe, side by side and
// alternating: the floor (a bare net/smtp dialogue), smtp_exporter's /probe,
// and blackbox_exporter's equivalent module when it is installed. Everything
// runs on loopback. Run it with bench/run.sh.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

func main() {
	exporter := flag.String("exporter", "./smtp_exporter", "smtp_exporter binary")
	blackbox := flag.String("blackbox", "/usr/bin/prometheus-blackbox-exporter", "blackbox_exporter binary (skipped when missing)")
	n := flag.Int("n", 1000, "probes per measurement")
	rounds := flag.Int("rounds", 3, "alternating rounds; the median is reported")
	floorAddr := flag.String("floor", "", "internal: run the floor client against this address")
	caFile := flag.String("ca", "", "internal: CA file for the floor client")
	conc := flag.Int("c", 1, "internal: floor concurrency")
	flag.Parse()
	if *floorAddr != "" {
		runFloorClient(*floorAddr, *caFile, *n, *conc)
		return
	}
	if err := drive(*exporter, *blackbox, *n, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
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

type sample struct {
	cpuMsPerProbe float64
	perSecond     float64
	peakRSSMB     float64
}

func drive(exporter, blackbox string, n, rounds int) error {
	dir, err := os.MkdirTemp("", "smtp-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t := &tb{dir: dir}
	defer func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
	}()
	ca := smtptest.NewCA(t)
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, GreetAtOnce: true})
	caPath := ca.PEMFile(t)

	ours, err := startOurs(exporter, dir, caPath)
	if err != nil {
		return err
	}
	defer stop(ours.cmd)
	kinds := []string{"floor", "ours"}
	var bb *exporterProc
	if _, err := os.Stat(blackbox); err == nil {
		if bb, err = startBlackbox(blackbox, dir, caPath); err != nil {
			return err
		}
		defer stop(bb.cmd)
		kinds = append(kinds, "blackbox")
	} else {
		fmt.Printf("blackbox_exporter not found at %s: comparing with the floor only\n", blackbox)
	}

	results := map[string][]sample{}
	for r := 0; r < rounds; r++ {
		for _, c := range []int{1, 16} {
			for _, kind := range kinds {
				var s sample
				switch kind {
				case "floor":
					s, err = measureFloor(srv.Addr, caPath, n, c)
				case "ours":
					s, err = measureExporter(ours, "/probe?module=bench&target="+srv.Addr, "probe_success 1", n, c)
				case "blackbox":
					s, err = measureExporter(bb, "/probe?module=smtp_starttls&target="+srv.Addr, "probe_success 1", n, c)
				}
				if err != nil {
					return fmt.Errorf("%s c=%d: %w", kind, c, err)
				}
				key := fmt.Sprintf("%s c=%d", kind, c)
				results[key] = append(results[key], s)
			}
		}
	}
	report(results, kinds, n, rounds)
	return tarpit(ours, t)
}

// tarpit sends 1000 concurrent probes through the exporter to servers that
// accept and stay silent or drip-feed bytes: each must end within its
// deadline + 50 ms, and the exporter's peak RSS stay under 100 MB.
func tarpit(p *exporterProc, t *tb) error {
	silent := smtptest.NewHandlerServer(t, func(c *smtptest.Conn) { _, _ = io.Copy(io.Discard, c) })
	drip := smtptest.NewHandlerServer(t, func(c *smtptest.Conn) {
		for i := 0; i < 100; i++ {
			if _, err := c.Write([]byte("2")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	const probes, deadline = 1000, 2 * time.Second
	var (
		mu        sync.Mutex
		worst     time.Duration
		worstWall time.Duration
		over      int
		i         int
		client    = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: probes, MaxConnsPerHost: probes}}
		timeout   = strconv.FormatFloat(deadline.Seconds()+0.5, 'f', 1, 64) // the probe deadline is this minus the 0.5s offset
	)
	err := parallel(probes, probes, func() error {
		mu.Lock()
		port := silent.Port
		if i%2 == 1 {
			port = drip.Port
		}
		i++
		mu.Unlock()
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/probe?module=bench&target=127.0.0.1:%d", p.addr, port), nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wall := time.Since(start)
		// The exporter's own measure of the probe, from the response.
		took := probeDuration(string(body))
		mu.Lock()
		worst = max(worst, took)
		worstWall = max(worstWall, wall)
		if took > deadline+50*time.Millisecond {
			over++
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("tarpit: %w", err)
	}
	fmt.Printf("\nTarpit: %d concurrent probes (half silent, half drip-fed), deadline %s\n", probes, deadline)
	fmt.Printf("  slowest probe %s (deadline + %s), %d over deadline + 50ms; slowest HTTP answer seen by the client %s; exporter peak RSS %.1f MB\n",
		worst.Round(time.Millisecond), (worst - deadline).Round(time.Millisecond), over, worstWall.Round(time.Millisecond), peakRSSMB(p.cmd.Process.Pid))
	return nil
}

func report(results map[string][]sample, kinds []string, n, rounds int) {
	fmt.Printf("\nSTARTTLS probe cost, %d probes per measurement, median of %d alternating rounds\n", n, rounds)
	fmt.Printf("%-16s %14s %12s %14s\n", "", "CPU ms/probe", "probes/s", "peak RSS MB")
	med := map[string]sample{}
	for _, c := range []int{1, 16} {
		for _, kind := range kinds {
			key := fmt.Sprintf("%s c=%d", kind, c)
			med[key] = median(results[key])
			fmt.Printf("%-16s %14.3f %12.0f %14.1f\n", key, med[key].cpuMsPerProbe, med[key].perSecond, med[key].peakRSSMB)
		}
	}
	fmt.Println()
	for _, c := range []int{1, 16} {
		o := med[fmt.Sprintf("ours c=%d", c)].cpuMsPerProbe
		fmt.Printf("c=%-3d ours/floor = %.2f", c, o/med[fmt.Sprintf("floor c=%d", c)].cpuMsPerProbe)
		if b, ok := med[fmt.Sprintf("blackbox c=%d", c)]; ok {
			fmt.Printf("   ours/blackbox = %.2f", o/b.cpuMsPerProbe)
		}
		fmt.Println()
	}
}

func median(s []sample) sample {
	sort.Slice(s, func(i, j int) bool { return s[i].cpuMsPerProbe < s[j].cpuMsPerProbe })
	return s[len(s)/2]
}

type exporterProc struct {
	cmd  *exec.Cmd
	addr string
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startProc(name string, args []string, addr string) (*exporterProc, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &exporterProc{cmd: cmd, addr: addr}
	client := http.Client{Timeout: time.Second}
	for i := 0; i < 100; i++ {
		if resp, err := client.Get("http://" + addr + "/metrics"); err == nil {
			resp.Body.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop(cmd)
	return nil, fmt.Errorf("%s did not come up on %s", name, addr)
}

func startOurs(bin, dir, caPath string) (*exporterProc, error) {
	return startExporter(bin, filepath.Join(dir, "smtp_exporter.yml"), fmt.Sprintf(`modules:
  bench:
    prober: starttls
    timeout: 5s
    smtp:
      ehlo: bench.test
    tls_config:
      ca_file: %s
`, caPath))
}

func startBlackbox(bin, dir, caPath string) (*exporterProc, error) {
	// The usual hand-written STARTTLS module: blackbox's send appends "\n".
	return startExporter(bin, filepath.Join(dir, "blackbox.yml"), fmt.Sprintf(`modules:
  smtp_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      query_response:
        - expect: "^220 "
        - send: "EHLO bench.test\r"
        - expect: "^250 "
        - send: "STARTTLS\r"
        - expect: "^220 "
        - starttls: true
        - send: "EHLO bench.test\r"
        - expect: "^250 "
        - send: "QUIT\r"
        - expect: "^221 "
      tls_config:
        ca_file: %s
`, caPath))
}

// startExporter writes config to cfgPath and starts bin (either exporter:
// both take the same flags) on a free loopback port.
func startExporter(bin, cfgPath, config string) (*exporterProc, error) {
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return startProc(bin, []string{"--config.file=" + cfgPath, "--web.listen-address=" + addr, "--log.level=warn"}, addr)
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
	}
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

// cpuTicks is utime+stime of pid from /proc/PID/stat, in clock ticks (100 Hz).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

func peakRSSMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func measureExporter(p *exporterProc, path, want string, n, c int) (sample, error) {
	pid := p.cmd.Process.Pid
	before, err := cpuTicks(pid)
	if err != nil {
		return sample{}, err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	start := time.Now()
	err = parallel(n, c, func() error {
		resp, err := client.Get("http://" + p.addr + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), want) {
			return fmt.Errorf("probe did not succeed:\n%s", body)
		}
		return nil
	})
	wall := time.Since(start)
	if err != nil {
		return sample{}, err
	}
	after, _ := cpuTicks(pid)
	return sample{cpuMsPerProbe: float64(after-before) * 10 / float64(n), perSecond: float64(n) / wall.Seconds(), peakRSSMB: peakRSSMB(pid)}, nil
}

// measureFloor runs the floor client in its own process so its CPU is its own.
func measureFloor(addr, caPath string, n, c int) (sample, error) {
	self, err := os.Executable()
	if err != nil {
		return sample{}, err
	}
	out, err := exec.Command(self, "-floor", addr, "-ca", caPath, "-n", strconv.Itoa(n), "-c", strconv.Itoa(c)).Output()
	if err != nil {
		return sample{}, fmt.Errorf("floor client: %w", err)
	}
	var s sample
	if _, err := fmt.Sscan(string(out), &s.cpuMsPerProbe, &s.perSecond, &s.peakRSSMB); err != nil {
		return sample{}, fmt.Errorf("floor client said %q: %w", out, err)
	}
	return s, nil
}

// runFloorClient is the floor: net/smtp's STARTTLS dialogue with standard
// verification, nothing else. It prints its CPU ms per probe, rate and peak RSS.
func runFloorClient(addr, caPath string, n, c int) {
	pem, err := os.ReadFile(caPath)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	host, _, _ := net.SplitHostPort(addr)
	cfg := &tls.Config{RootCAs: roots, ServerName: host}
	before, _ := cpuTicks(os.Getpid())
	start := time.Now()
	err = parallel(n, c, func() error {
		cl, err := smtp.Dial(addr)
		if err != nil {
			return err
		}
		defer cl.Close()
		if err := cl.Hello("bench.test"); err != nil {
			return err
		}
		if err := cl.StartTLS(cfg); err != nil {
			return err
		}
		if err := cl.Hello("bench.test"); err != nil && !strings.Contains(err.Error(), "called after") {
			return err
		}
		return cl.Quit()
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wall := time.Since(start)
	after, _ := cpuTicks(os.Getpid())
	fmt.Printf("%f %f %f\n", float64(after-before)*10/float64(n), float64(n)/wall.Seconds(), peakRSSMB(os.Getpid()))
}

// parallel runs fn n times on c workers and returns the first error.
func parallel(n, c int, fn func() error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan struct{}, n)
	)
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	for w := 0; w < c; w++ {
		wg.Go(func() {
			for range next {
				if err := fn(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

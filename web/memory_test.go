package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
	"github.com/smtp-exporter/smtp_exporter/runner"
)

// The child process gets the server's port and the CA file from these.
const (
	memoryChildEnv = "SMTP_EXPORTER_MEMORY_TEST_CHILD"
	memoryPortEnv  = "SMTP_EXPORTER_MEMORY_TEST_PORT"
	memoryCAEnv    = "SMTP_EXPORTER_MEMORY_TEST_CA"
)

// The issue's bound: 400 probes of a server sending maximum-size replies,
// 16 at a time, with default flags, leave the process under 64 MB. While
// they run, the heap grows to twice what is live (GOGC): the peak is
// measured 54-61 MB on the development machine (300 MB before the
// transcript budget) and bounded more loosely, so a loaded machine's GC
// timing cannot fail the test.
const (
	memoryProbes      = 400
	memoryConcurrency = 16
	memoryMaxRSS      = 64 << 20
	memoryMaxPeakRSS  = 80 << 20
	memoryMaxHeap     = 32 << 20 // what the history and the runtime keep after a GC
)

// TestProbeMemoryBounded runs memoryProbes probes through /probe, as main
// wires it, against a server answering every command with 100 lines of
// 2 KB, half of them failing so both halves of the history fill. The
// exporter's side runs in a child process, so that its RSS and peak RSS
// are the workload's alone: the server stays in this one.
func TestProbeMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 400 probes of 1 MB each")
	}
	if os.Getenv(memoryChildEnv) != "1" {
		ca := smtptest.NewCA(t)
		cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, Verbose: true, GreetAtOnce: true})
		cmd := exec.Command(os.Args[0], "-test.run=^TestProbeMemoryBounded$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), memoryChildEnv+"=1", memoryPortEnv+"="+strconv.Itoa(srv.Port), memoryCAEnv+"="+ca.PEMFile(t))
		out, err := cmd.CombinedOutput()
		t.Log(string(out))
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		return
	}
	h, url := memoryHandler(t)
	start := time.Now()
	runProbes(t, url)
	took := time.Since(start)

	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, peak := procStatus(t, "VmRSS"), procStatus(t, "VmHWM")
	kept := len(h.History.List())
	t.Logf("%d probes (concurrency %d) in %s: history keeps %d probes, %d transcript bytes; heap in use %.1f MB, heap alloc %.1f MB, RSS %.1f MB, peak RSS %.1f MB (race detector: %v)",
		memoryProbes, memoryConcurrency, took.Round(time.Millisecond), kept, h.History.keptBytes(),
		mb(ms.HeapInuse), mb(ms.HeapAlloc), mb(rss), mb(peak), raceEnabled)
	if len(h.History.recent) != 100 || len(h.History.failures) != 100 {
		t.Errorf("history keeps %d recent and %d failed probes, want it full (100 each)", len(h.History.recent), len(h.History.failures))
	}
	if ms.HeapInuse > memoryMaxHeap {
		t.Errorf("heap in use %.1f MB after GC, want under %.0f MB", mb(ms.HeapInuse), mb(memoryMaxHeap))
	}
	// The race detector's shadow memory multiplies RSS; the heap bound above still holds.
	if !raceEnabled && (rss > memoryMaxRSS || peak > memoryMaxPeakRSS) {
		t.Errorf("RSS %.1f MB, peak %.1f MB, want under %.0f MB and %.0f MB", mb(rss), mb(peak), mb(memoryMaxRSS), mb(memoryMaxPeakRSS))
	}
	runtime.KeepAlive(h)
}

// memoryHandler is the /probe handler with default flags: module ok
// (STARTTLS, succeeds after 1 MB of replies) and module bad (fails at a
// 100-line greeting) against the parent's verbose server.
func memoryHandler(t *testing.T) (*Handler, string) {
	path := filepath.Join(t.TempDir(), "smtp.yml")
	yml := fmt.Sprintf(`modules:
  ok:
    prober: starttls
    timeout: 20s
    smtp: {ehlo: probe.test}
    tls_config: {ca_file: %s}
  bad:
    prober: tcp
    timeout: 20s
    smtp: {ehlo: probe.test, expect_greeting_code: 221}
`, os.Getenv(memoryCAEnv))
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	sc := config.NewSafeConfig(path, reg)
	if err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	h := &Handler{Config: sc, Runner: &runner.Runner{Logger: promslog.New(&promslog.Config{Writer: io.Discard}), ProberLevel: slog.LevelDebug},
		TimeoutOffset: 500 * time.Millisecond, History: NewHistory(100), Metrics: NewSelfMetrics(reg),
		Limiter: NewLimiter(1000)}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return h, hs.URL + "/probe?target=127.0.0.1:" + os.Getenv(memoryPortEnv)
}

// runProbes sends memoryProbes requests, memoryConcurrency at a time, alternating the modules.
func runProbes(t *testing.T, url string) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range memoryConcurrency {
		wg.Go(func() {
			for i := range jobs {
				module := "ok"
				if i%2 == 1 {
					module = "bad"
				}
				resp, err := http.Get(url + "&module=" + module)
				if err != nil {
					t.Error(err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := "probe_success " + map[string]string{"ok": "1", "bad": "0"}[module]
				if !strings.Contains(string(body), want) {
					t.Errorf("probe %d (%s): no %q in\n%s", i, module, want, body)
				}
			}
		})
	}
	for i := range memoryProbes {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// procStatus reads a "kB" line of /proc/self/status, in bytes.
func procStatus(t *testing.T, key string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status here")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", key)
	return 0
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

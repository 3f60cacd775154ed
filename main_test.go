package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
)

// The test binary doubles as the exporter binary for the signal tests.
func TestMain(m *testing.M) {
	if os.Getenv("SMTP_EXPORTER_TEST_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const goodConfig = `modules:
  starttls:
    prober: starttls
    timeout: 5s
`

const otherConfig = `modules:
  starttls:
    prober: starttls
  renamed_after_reload:
    prober: tcp
`

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yml"), filepath.Join(dir, "bad.yml")
	writeConfig(t, good, goodConfig)
	writeConfig(t, bad, "modules:\n  x:\n    prober: smtp\n")
	if rc := run([]string{"--config.check", "--config.file", good}); rc != 0 {
		t.Errorf("valid config: exit %d, want 0", rc)
	}
	if rc := run([]string{"--config.check", "--config.file", bad}); rc != 1 {
		t.Errorf("invalid config: exit %d, want 1", rc)
	}
	if rc := run([]string{"--config.check", "--config.file", filepath.Join(dir, "missing.yml")}); rc != 1 {
		t.Errorf("missing config: exit %d, want 1", rc)
	}
}

// TestConfigCheckRefusesUnreadableFiles: --config.check used to call a
// config with password_file /dev/zero valid, to run out of memory on
// ca_file /dev/zero, and to wait forever on a FIFO.
func TestConfigCheckRefusesUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	configs := map[string]string{"config file is a FIFO": fifo}
	for name, module := range map[string]string{
		"password_file FIFO":      "smtp:\n      auth: {username: u, password_file: " + fifo + "}",
		"password_file /dev/zero": "smtp:\n      auth: {username: u, password_file: /dev/zero}",
		"ca_file FIFO":            "tls_config: {ca_file: " + fifo + "}",
		"ca_file /dev/zero":       "tls_config: {ca_file: /dev/zero}",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, "/", "")+".yml")
		writeConfig(t, path, "modules:\n  m:\n    prober: starttls\n    "+module+"\n")
		configs[name] = path
	}
	for name, path := range configs {
		done := make(chan int, 1)
		go func() { done <- run([]string{"--config.check", "--config.file", path}) }()
		select {
		case rc := <-done:
			if rc != 1 {
				t.Errorf("%s: exit %d, want 1", name, rc)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: --config.check never returned", name)
		}
	}
}

func testFlags(configFile string) flags {
	return flags{configFile: configFile, proberLevel: promslog.NewLevel(), timeoutOffset: 500 * time.Millisecond, historyLimit: 10}
}

func get(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code, rec.Body.String()
}

func TestReloadEndpointKeepsOldConfigOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, goodConfig)
	mux, _, err := newMux(testFlags(path), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, mux, http.MethodGet, "/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload = %d, want 405", code)
	}

	writeConfig(t, path, "modules:\n  starttls:\n    prober: starttls\n    bogus_key: 1\n")
	code, body := get(t, mux, http.MethodPost, "/-/reload")
	if code != http.StatusInternalServerError || !strings.Contains(body, "bogus_key") {
		t.Errorf("POST broken config = %d %q, want 500 naming the bad key", code, body)
	}
	if _, cfg := get(t, mux, http.MethodGet, "/config"); !strings.Contains(cfg, "timeout: 5s") {
		t.Errorf("old config not kept:\n%s", cfg)
	}
	if _, metrics := get(t, mux, http.MethodGet, "/metrics"); !strings.Contains(metrics, "smtp_exporter_config_last_reload_successful 0") {
		t.Error("reload gauge not 0 after a failed reload")
	}

	writeConfig(t, path, otherConfig)
	if code, _ := get(t, mux, http.MethodPost, "/-/reload"); code != http.StatusOK {
		t.Errorf("POST good config = %d", code)
	}
	if _, cfg := get(t, mux, http.MethodGet, "/config"); !strings.Contains(cfg, "renamed_after_reload") {
		t.Errorf("new config not in force:\n%s", cfg)
	}
	_, metrics := get(t, mux, http.MethodGet, "/metrics")
	for _, want := range []string{"smtp_exporter_config_last_reload_successful 1", "smtp_exporter_build_info{", "smtp_exporter_probes_in_flight 0", "go_goroutines",
		"smtp_exporter_connections_open 0", `smtp_exporter_connection_waits_total{result="deadline"} 0`, "smtp_exporter_probe_panics_total 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "probe_success") {
		t.Error("/metrics carries probe metrics")
	}
	for _, path := range []string{"/-/healthy", "/-/ready", "/"} {
		if code, _ := get(t, mux, http.MethodGet, path); code != http.StatusOK {
			t.Errorf("GET %s = %d", path, code)
		}
	}
}

// TestReloadEndpointFIFOCAFile: a FIFO as ca_file used to block POST
// /-/reload forever, with the reload lock held.
func TestReloadEndpointFIFOCAFile(t *testing.T) {
	dir := t.TempDir()
	path, fifo := filepath.Join(dir, "config.yml"), filepath.Join(dir, "ca.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, path, goodConfig)
	mux, _, err := newMux(testFlags(path), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	writeConfig(t, path, goodConfig+"    tls_config: {ca_file: "+fifo+"}\n")
	done := make(chan string, 1)
	go func() {
		code, body := get(t, mux, http.MethodPost, "/-/reload")
		done <- fmt.Sprint(code, " ", body)
	}()
	select {
	case got := <-done:
		if !strings.HasPrefix(got, "500 ") || !strings.Contains(got, "tls_config.ca_file") || !strings.Contains(got, "FIFO") {
			t.Errorf("POST /-/reload = %q, want 500 naming tls_config.ca_file and the FIFO", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("POST /-/reload never returned")
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestSIGHUPReloadsAndSIGTERMStops runs the real binary (this test binary re-executed).
func TestSIGHUPReloadsAndSIGTERMStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, goodConfig)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(os.Args[0], "--config.file", path, "--web.listen-address", addr)
	cmd.Env = append(os.Environ(), "SMTP_EXPORTER_TEST_RUN_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	client := &http.Client{Timeout: 2 * time.Second}
	fetch := func(p string) string {
		resp, err := client.Get("http://" + addr + p)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitFor := func(what string, ok func() bool) {
		for i := 0; i < 100; i++ {
			if ok() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitFor("ready", func() bool { return strings.Contains(fetch("/-/ready"), "OK") })

	writeConfig(t, path, otherConfig)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("reload by SIGHUP", func() bool { return strings.Contains(fetch("/config"), "renamed_after_reload") })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop within 10s of SIGTERM")
	}
}

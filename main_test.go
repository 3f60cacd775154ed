package main

import (
	"bufio"
	"encoding/base64"
	"errors"
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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/crypto/bcrypt"
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
	// golang.org/x/net/trace (linked through exporter-toolkit's
	// prometheus/common/config) registers its pages on http.DefaultServeMux
	// when the program starts; the exporter serves its own mux only.
	for _, path := range []string{"/debug/requests", "/debug/events", "/debug/pprof/"} {
		if code, _ := get(t, mux, http.MethodGet, path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
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

func TestValidateFlags(t *testing.T) {
	defaults := flags{timeoutOffset: 500 * time.Millisecond, historyLimit: 100, maxConcurrent: 1000, idleTimeout: 90 * time.Second, maxConnections: 2048}
	if err := validateFlags(defaults); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for _, tc := range []struct {
		want   string
		change func(*flags)
	}{
		{"--timeout-offset=-1s", func(f *flags) { f.timeoutOffset = -time.Second }},
		{"--timeout-offset=1h0m0s", func(f *flags) { f.timeoutOffset = time.Hour }},
		{"--history.limit=-1", func(f *flags) { f.historyLimit = -1 }},
		{"--history.limit=10000000", func(f *flags) { f.historyLimit = 10_000_000 }},
		{"--probe.max-concurrent=-1", func(f *flags) { f.maxConcurrent = -1 }},
		{"--web.idle-timeout=0s", func(f *flags) { f.idleTimeout = 0 }},
		{"--web.idle-timeout=-1s", func(f *flags) { f.idleTimeout = -time.Second }},
		{"--web.max-connections=-1", func(f *flags) { f.maxConnections = -1 }},
	} {
		f := defaults
		tc.change(&f)
		err := validateFlags(f)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "must be between") {
			t.Errorf("%s: got %v, want an error naming it and its range", tc.want, err)
		}
	}
}

// startExporter runs the binary (this test binary re-executed) with args on
// a free loopback port and returns its address once it answers.
func startExporter(t *testing.T, args ...string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(os.Args[0], append([]string{"--web.listen-address", addr}, args...)...)
	cmd.Env = append(os.Environ(), "SMTP_EXPORTER_TEST_RUN_MAIN=1")
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("exporter %v did not listen on %s", args, addr)
	return ""
}

// TestBadFlagExits1: a flag out of range stops the exporter at startup, with
// a message naming the flag (it used to start, and probes outlived the scrape).
func TestBadFlagExits1(t *testing.T) {
	for _, arg := range []string{"--timeout-offset=-1s", "--history.limit=-5"} {
		cmd := exec.Command(os.Args[0], "--web.listen-address=127.0.0.1:0", arg)
		cmd.Env = append(os.Environ(), "SMTP_EXPORTER_TEST_RUN_MAIN=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		timer := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
		err := cmd.Wait()
		timer.Stop()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), arg) {
			t.Errorf("%s: exit %v, stderr %q; want exit status 1 naming the flag", arg, err, stderr.String())
		}
	}
}

// basicAuthWebConfig writes an exporter-toolkit web config with basic auth
// (user prometheus, password scrape-secret) and no TLS.
func basicAuthWebConfig(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "web.yml")
	writeConfig(t, path, fmt.Sprintf("basic_auth_users:\n  prometheus: %s\n", hash))
	return path
}

// keepAliveRequest sends one request on a new connection, checks the answer
// kept the connection open, and returns the connection.
func keepAliveRequest(t *testing.T, addr, auth string, wantCode int) net.Conn {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Error(err)
		return nil
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: exporter\r\n%s\r\n", auth)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Error(err)
		c.Close()
		return nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != wantCode || resp.Close {
		t.Errorf("answer %d (close %v), want %d on a kept-alive connection", resp.StatusCode, resp.Close, wantCode)
	}
	return c
}

// TestIdleConnectionsClosed: keep-alive connections left idle, whether their
// request was served or refused with a 401 by basic auth, are closed by the
// server after --web.idle-timeout; they used to stay open for ever, until
// the file descriptors ran out.
func TestIdleConnectionsClosed(t *testing.T) {
	addr := startExporter(t, "--web.config.file", basicAuthWebConfig(t), "--web.idle-timeout=300ms")
	const served, refused = 40, 10
	auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("prometheus:scrape-secret")) + "\r\n"
	var conns []net.Conn
	for i := range served + refused {
		header, code := auth, http.StatusOK
		if i >= served {
			header, code = "", http.StatusUnauthorized
		}
		if c := keepAliveRequest(t, addr, header, code); c != nil {
			conns = append(conns, c)
		}
	}
	var closed atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			defer c.Close()
			// The server closes it: a read ends with EOF well before the 10s deadline.
			if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
				closed.Add(1)
			}
		})
	}
	wg.Wait()
	if closed.Load() != served+refused {
		t.Errorf("%d of %d idle connections closed by the server, want all", closed.Load(), served+refused)
	}
}

// TestOversizedRequestsRefused: a URL beyond the header limit gets 431, a
// body beyond maxBodyBytes 413 with its connection closed; a small body is ignored.
func TestOversizedRequestsRefused(t *testing.T) {
	addr := startExporter(t)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/probe?target=mail.example.com&module=" + strings.Repeat("A", 100_000))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KB URL: %d, want 431", resp.StatusCode)
	}
	for _, tc := range []struct {
		size      int
		wantCode  int
		wantClose bool
		chunked   bool
	}{
		{100, http.StatusOK, false, false}, {maxBodyBytes, http.StatusOK, false, false}, {100, http.StatusOK, false, true},
		{maxBodyBytes + 1, http.StatusRequestEntityTooLarge, true, false}, {200_000, http.StatusRequestEntityTooLarge, true, false},
		{200_000, http.StatusRequestEntityTooLarge, true, true},
	} {
		var body io.Reader = strings.NewReader(strings.Repeat("x", tc.size))
		if tc.chunked {
			body = io.MultiReader(body) // hides the length: the client sends it chunked
		}
		resp, err := client.Post("http://"+addr+"/-/healthy", "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantCode || resp.Close != tc.wantClose {
			t.Errorf("%d-byte body (chunked %v): %d (close %v), want %d (close %v)", tc.size, tc.chunked, resp.StatusCode, resp.Close, tc.wantCode, tc.wantClose)
		}
	}
}

// serveLoopback serves srv on a loopback port until the test ends.
func serveLoopback(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestMaxConnections: beyond --web.max-connections a new connection is
// closed at once; a slot freed is usable again.
func TestMaxConnections(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	addr := serveLoopback(t, newServer(ok, flags{idleTimeout: time.Minute, maxConnections: 3}))
	var held []net.Conn
	for range 3 {
		c := keepAliveRequest(t, addr, "", http.StatusOK)
		if c == nil {
			t.FailNow()
		}
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = extra.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(extra, "GET / HTTP/1.1\r\nHost: exporter\r\n\r\n")
	if n, err := extra.Read(make([]byte, 100)); n != 0 || err == nil {
		t.Errorf("4th connection: read %d bytes, err %v; want it closed unanswered", n, err)
	}
	extra.Close()

	held[0].Close()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: exporter\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			c.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i == 100 {
			t.Fatal("a freed slot never became usable")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range held[1:] {
		c.Close()
	}
}

// TestProbeOutlivesServerTimeouts: /probe answers a probe longer than the
// server's read and write timeouts (a module's timeout is the config's to
// choose), and the probe runs its full time, not cut by them.
func TestProbeOutlivesServerTimeouts(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts (by the kernel) and never greets
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, "modules:\n  tcp:\n    prober: tcp\n    timeout: 1s\n")
	mux, _, err := newMux(testFlags(path), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(mux, flags{idleTimeout: time.Minute})
	srv.ReadTimeout, srv.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	addr := serveLoopback(t, srv)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/probe?module=tcp&target=" + silent.Addr().String())
	if err != nil {
		t.Fatalf("probe of 1s under 100ms server timeouts: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "probe_success 0") {
		t.Fatalf("%d %q, want 200 with the failed probe", resp.StatusCode, body)
	}
	var took float64
	for line := range strings.Lines(string(body)) {
		fmt.Sscanf(line, "probe_duration_seconds %g", &took)
	}
	if took < 0.5 {
		t.Errorf("probe_duration_seconds %g: the probe was cut before its 1s timeout", took)
	}
}

// TestSlowBodyBehindBasicAuthCut: exporter-toolkit answers 401 outside
// limitBody, and Go would then drain up to 256 KiB of the body with no
// deadline; ReadTimeout cuts a body that never comes.
func TestSlowBodyBehindBasicAuthCut(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), flags{idleTimeout: time.Minute})
	if srv.ReadTimeout <= 0 {
		t.Fatalf("newServer sets no ReadTimeout")
	}
	srv.ReadTimeout = 200 * time.Millisecond // the real one is 10s
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webConfig, listen, systemd := basicAuthWebConfig(t), []string{ln.Addr().String()}, false
	go func() {
		_ = web.Serve(ln, srv, &web.FlagConfig{WebConfigFile: &webConfig, WebListenAddresses: &listen, WebSystemdSocket: &systemd}, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() { _ = srv.Close() })

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "POST /-/reload HTTP/1.1\r\nHost: exporter\r\nContent-Length: 1000\r\n\r\nfirst bytes only")
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("connection with a body that never comes: %v, want it closed by the server", err)
	}
}

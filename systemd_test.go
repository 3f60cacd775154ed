package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSystemdUnitsVerify runs systemd's own checker on the example units.
// verify insists that ExecStart names an existing executable, so the units
// are checked in a copy whose binary path points at this test binary.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"smtp_exporter.socket", "smtp_exporter.service"} {
		unit := strings.ReplaceAll(readFile(t, filepath.Join("examples", name)), "/usr/local/bin/smtp_exporter", self)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, path)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, units...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdUnitsPair checks what ties the two units together: the service
// needs the socket and takes it with --web.systemd-socket, on the exporter's port.
func TestSystemdUnitsPair(t *testing.T) {
	service := readFile(t, "examples/smtp_exporter.service")
	socket := readFile(t, "examples/smtp_exporter.socket")
	for _, want := range []string{"\nRequires=smtp_exporter.socket\n", "smtp_exporter.socket\n", "\nExecStart=/usr/local/bin/smtp_exporter --web.systemd-socket "} {
		if !strings.Contains(service, want) {
			t.Errorf("smtp_exporter.service lacks %q", want)
		}
	}
	if !strings.Contains(socket, "\nListenStream=10587\n") {
		t.Error("smtp_exporter.socket does not listen on 10587")
	}
}

// TestSystemdSocketActivation starts the exporter as the socket unit does:
// systemd-socket-activate holds a loopback socket and hands it over with
// LISTEN_FDS; the exporter, run with --web.systemd-socket, must serve on it.
func TestSystemdSocketActivation(t *testing.T) {
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "smtp_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeLoopbackAddr(t)
	cmd := exec.Command(activate, "--listen="+addr, bin, "--web.systemd-socket", "--web.listen-address=127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	client := &http.Client{Timeout: 2 * time.Second}
	var lastErr error
	for range 50 { // the socket is bound at once; the exporter starts on the first connection
		resp, err := client.Get("http://" + addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/-/healthy: %s", resp.Status)
			}
			return
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no answer on the activated socket %s: %v", addr, lastErr)
}

// freeLoopbackAddr returns a 127.0.0.1 port that was free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

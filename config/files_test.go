package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// unreadable makes, in a fresh directory, one path of each kind a config
// must refuse, with the words the error should carry. The 100 MB file is
// sparse: it costs no disk, and a reader that trusts it costs 100 MB of memory.
func unreadable(t *testing.T) map[string]struct{ path, want string } {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	kinds := map[string]struct{ path, want string }{
		"FIFO":              {fifo, "is not a regular file (a FIFO)"},
		"directory":         {sub, "is a directory"},
		"100 MB":            {big, "is larger than the limit"},
		"missing":           {filepath.Join(dir, "absent"), "no such file"},
		"/dev/zero":         {"/dev/zero", "is not a regular file (a character device)"},
		"link to /dev/zero": {filepath.Join(dir, "zero-link"), "is not a regular file (a character device)"},
	}
	if _, err := os.Stat("/dev/zero"); err != nil {
		delete(kinds, "/dev/zero")
		delete(kinds, "link to /dev/zero")
	} else if err := os.Symlink("/dev/zero", kinds["link to /dev/zero"].path); err != nil {
		t.Fatal(err)
	}
	return kinds
}

// returns fails the test when fn has not returned within a minute: a read
// that blocks on a FIFO never would. It is not a speed assertion.
func returns(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("did not return: blocked reading a file")
	}
}

func TestReadFile(t *testing.T) {
	good := writeFile(t, t.TempDir(), "good", "content\n")
	if got, err := ReadFile(good, 8); err != nil || string(got) != "content\n" {
		t.Errorf("ReadFile(good) = %q, %v", got, err)
	}
	if _, err := ReadFile(good, 7); err == nil || !strings.Contains(err.Error(), "larger than the limit of 7 bytes") {
		t.Errorf("ReadFile over the limit = %v", err)
	}
	for name, k := range unreadable(t) {
		returns(t, func() {
			got, err := ReadFile(k.path, MaxSecretFileSize)
			if err == nil || !strings.Contains(err.Error(), k.want) || !strings.Contains(err.Error(), k.path) {
				t.Errorf("%s: ReadFile = %d bytes, %v; want an error naming the path and %q", name, len(got), err, k.want)
			}
		})
	}
}

// TestParseRefusesUnreadableFiles: every file a module names is read at load
// through ReadFile, before promconfig could read it whole, and the error
// names the module and the field.
func TestParseRefusesUnreadableFiles(t *testing.T) {
	certPEM, keyPEM := clientCertPEM(t)
	dir := t.TempDir()
	cert, key := writeFile(t, dir, "cert.pem", certPEM), writeFile(t, dir, "key.pem", keyPEM)
	for _, field := range []struct {
		name   string
		module func(path string) string
	}{
		{"smtp.auth.password_file", func(p string) string {
			return "prober: starttls\nsmtp:\n  auth: {username: u, password_file: " + p + "}"
		}},
		{"tls_config.ca_file", func(p string) string { return "prober: starttls\ntls_config: {ca_file: " + p + "}" }},
		{"tls_config.cert_file", func(p string) string {
			return "prober: starttls\ntls_config: {cert_file: " + p + ", key_file: " + key + "}"
		}},
		{"tls_config.key_file", func(p string) string {
			return "prober: starttls\ntls_config: {cert_file: " + cert + ", key_file: " + p + "}"
		}},
	} {
		for kind, k := range unreadable(t) {
			returns(t, func() {
				_, err := Parse([]byte("modules:\n  m:\n" + indent(field.module(k.path), "    ")))
				want := []string{`module "m": ` + field.name + ": ", k.path, k.want}
				for _, w := range want {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("%s %s: Parse error %v, want %q", field.name, kind, err, want)
						break
					}
				}
			})
		}
	}
	// The same files, readable, load; the client certificate is read again at each handshake.
	c, err := Parse([]byte("modules:\n  m:\n    prober: starttls\n    tls_config: {cert_file: " + cert + ", key_file: " + key + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := c.Modules["m"].ClientTLS()
	if err != nil || tc.GetClientCertificate == nil {
		t.Fatalf("ClientTLS = %v, %v", tc, err)
	}
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.GetClientCertificate(nil); err == nil || !strings.Contains(err.Error(), "tls_config.key_file") {
		t.Errorf("client certificate with its key file gone: %v", err)
	}
}

func TestLoadRefusesUnreadableConfigFile(t *testing.T) {
	for kind, k := range unreadable(t) {
		returns(t, func() {
			if _, err := Load(k.path); err == nil || !strings.Contains(err.Error(), k.want) {
				t.Errorf("%s: Load = %v, want an error with %q", kind, err, k.want)
			}
		})
	}
}

// TestReloadWithFIFOReturns: a FIFO as ca_file or as the config file made
// /-/reload wait forever for a writer, holding the reload lock.
func TestReloadWithFIFOReturns(t *testing.T) {
	fifo := unreadable(t)["FIFO"].path
	cfg := writeFile(t, t.TempDir(), "smtp.yml", "modules:\n  m:\n    prober: starttls\n    tls_config: {ca_file: "+fifo+"}\n")
	for _, path := range []string{cfg, fifo} {
		sc := NewSafeConfig(path, prometheus.NewRegistry())
		returns(t, func() {
			if err := sc.Reload(); err == nil || !strings.Contains(err.Error(), "FIFO") {
				t.Errorf("Reload(%s) = %v, want an error about the FIFO", path, err)
			}
		})
	}
}

func TestReadPasswordUnreadable(t *testing.T) {
	for kind, k := range unreadable(t) {
		returns(t, func() {
			a := Auth{PasswordFile: k.path}
			if got, err := a.ReadPassword(); err == nil || !strings.Contains(err.Error(), "password_file: ") || !strings.Contains(err.Error(), k.path) {
				t.Errorf("%s: ReadPassword = %d bytes, %v", kind, len(got), err)
			}
		})
	}
}

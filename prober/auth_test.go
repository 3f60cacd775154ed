package prober

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// replaceWith turns path, a readable password file at load, into something
// that must not be read as one: what rotation, a bad mount or a typo leaves.
var replaceWith = map[string]func(t *testing.T, path string){
	"removed": func(*testing.T, string) {},
	"FIFO": func(t *testing.T, path string) {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
	},
	"directory": func(t *testing.T, path string) {
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
	},
	"link to /dev/zero": func(t *testing.T, path string) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
		}
	},
	"100 MB sparse file": func(t *testing.T, path string) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(100 << 20); err != nil {
			t.Fatal(err)
		}
	},
}

// TestAuthSecretUnreadable: a password_file that cannot be read at probe
// time fails the probe at once with auth/secret_unreadable, not auth_failed,
// and sends no AUTH. It used to block on a FIFO past every deadline, eat
// /dev/zero until out of memory, and send a 100 MB file as a 133 MB AUTH line.
func TestAuthSecretUnreadable(t *testing.T) {
	p := newPKI(t)
	for kind, replace := range replaceWith {
		t.Run(kind, func(t *testing.T) {
			pwFile := filepath.Join(t.TempDir(), "pw")
			if err := os.WriteFile(pwFile, []byte("correct horse\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse([]byte("modules:\n  m:\n    prober: starttls\n    timeout: 5s\n" +
				"    smtp:\n      ehlo: probe.test\n      auth: {username: probe@example.com, password_file: " + pwFile + ", mechanism: PLAIN}\n" +
				"    tls_config: {ca_file: " + p.caFile + "}\n"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(pwFile); err != nil {
				t.Fatal(err)
			}
			replace(t, pwFile)

			srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, Users: map[string]string{"probe@example.com": "correct horse"}})
			res := probeReturns(t, Probe, srv.Port, cfg.Modules["m"])
			wantFailure(t, res, PhaseAuth, ReasonSecretUnreadable, 0)
			if !strings.Contains(res.Failure.Err.Error(), pwFile) {
				t.Errorf("error %q does not name the file", res.Failure.Err)
			}
			if res.AuthSuccess == nil || *res.AuthSuccess {
				t.Errorf("auth success = %v, want false", res.AuthSuccess)
			}
			for _, c := range srv.Commands() {
				if strings.HasPrefix(strings.ToUpper(c), "AUTH") {
					t.Errorf("sent %.40q with an unreadable password", c)
				}
			}
			noViolations(t, srv)
		})
	}
}

func TestAuthPasswordEnvUnset(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, Users: map[string]string{"u": "p"}})
	m := module("starttls", p.caFile, 5*time.Second)
	m.SMTP.Auth = &config.Auth{Username: "u", PasswordEnv: "SMTP_EXPORTER_TEST_UNSET_PASSWORD"}
	res := probeReturns(t, Probe, srv.Port, m)
	wantFailure(t, res, PhaseAuth, ReasonSecretUnreadable, 0)
	if !strings.Contains(res.Failure.Err.Error(), "SMTP_EXPORTER_TEST_UNSET_PASSWORD") {
		t.Errorf("error %q does not name the variable", res.Failure.Err)
	}
}

// probeReturns is probe, failing instead of hanging the test binary when
// the prober never returns (as it did, blocked on a FIFO).
func probeReturns(t *testing.T, fn ProbeFn, port int, m config.Module) *Result {
	t.Helper()
	done := make(chan *Result, 1)
	go func() { done <- probe(t, fn, port, m) }()
	select {
	case res := <-done:
		return res
	case <-time.After(time.Duration(m.Timeout) + time.Minute):
		t.Fatal("the probe never returned")
		return nil
	}
}

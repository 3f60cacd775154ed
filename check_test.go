package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
	"github.com/smtp-exporter/smtp_exporter/runner"
)

func TestCheckExitStatus(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	if rc := run([]string{"check", "127.0.0.1:" + strconv.Itoa(srv.Port), "--module", "tcp"}); rc != 0 {
		t.Errorf("check of a working server: exit %d, want 0", rc)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if rc := run([]string{"check", "127.0.0.1", "--port", strconv.Itoa(closed), "--output", "json"}); rc != 1 {
		t.Errorf("check of a refused port: exit %d, want 1", rc)
	}
	for _, args := range [][]string{{"check", "not a host!"}, {"check", "127.0.0.1", "--module", "nope"}, {"check", "127.0.0.1:587", "--module", "submission"}} {
		if rc := run(args); rc != 2 {
			t.Errorf("%v: exit %d, want 2", args, rc)
		}
	}
}

func TestCheckReportSubmission(t *testing.T) {
	cfg := config.Builtin()
	req, err := runner.Resolve(cfg, "mail.example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	blocked := &prober.Result{Failure: &prober.Failure{Phase: prober.PhaseConnect, Reason: prober.ReasonTimeout, Err: errors.New("i/o timeout")}}
	works := &prober.Result{Reachable: true, GreetingCode: 220,
		Timings: []prober.Timing{{Phase: prober.PhaseConnect, Duration: time.Millisecond}, {Phase: prober.PhaseTLS, Duration: 3 * time.Millisecond}},
		TLS:     &prober.TLSInfo{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", Verified: true, EarliestExpiry: now.Add(30 * 24 * time.Hour)}}
	refused := &prober.Result{Failure: &prober.Failure{Phase: prober.PhaseConnect, Reason: prober.ReasonRefused}}
	res := &prober.Result{SubmissionPort: 465, Ports: []prober.PortResult{{Port: 587, Result: blocked}, {Port: 465, Result: works}, {Port: 2525, Result: refused}}}

	rep := newCheckReport(req, res, 42*time.Millisecond, now)
	var out bytes.Buffer
	rep.writeText(&out)
	text := out.String()
	for _, want := range []string{
		"port 587   STARTTLS      FAILED at connect: timeout",
		"likely filtered by a firewall",
		"port 465   implicit TLS  OK",
		"TLS 1.3",
		"30 days left",
		"nothing listening",
		"Verdict: use port 465 with implicit TLS: port 587 does not work (connect/timeout: no answer before the deadline",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["submission_port"] != float64(465) || back["success"] != true {
		t.Errorf("json = %s", b)
	}
}

func TestExplainSecretUnreadable(t *testing.T) {
	got := explain(&prober.Failure{Phase: prober.PhaseAuth, Reason: prober.ReasonSecretUnreadable})
	if !strings.Contains(got, "password") || !strings.Contains(got, "Nothing was sent") {
		t.Errorf("explain(secret_unreadable) = %q", got)
	}
}

func TestCheckReportMX(t *testing.T) {
	cfg, err := config.Parse([]byte("modules:\n  mx:\n    prober: mx\n    all_addresses: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := runner.Resolve(cfg, "example.com", "mx")
	if err != nil {
		t.Fatal(err)
	}
	works := &prober.Result{Reachable: true, GreetingCode: 220, DANE: &prober.DANEResult{Records: 1, Validated: true, Match: ptr(true)}}
	refused := &prober.Result{Failure: &prober.Failure{Phase: prober.PhaseConnect, Reason: prober.ReasonRefused}}
	res := &prober.Result{MX: &prober.MXResult{
		MTASTS: &prober.MTASTSPolicy{Mode: "enforce", MaxAge: 86400},
		Hosts: []prober.MXHost{
			{Name: "mx1.example.com", Preference: 10, PolicyMatch: ptr(true), Result: &prober.Result{Addresses: []prober.AddressResult{
				{Addr: netip.MustParseAddr("192.0.2.1"), Result: works}, {Addr: netip.MustParseAddr("2001:db8::1"), Result: refused}}}},
			{Name: "gone.example.com", Preference: 20, Result: &prober.Result{Addresses: []prober.AddressResult{},
				Failure: &prober.Failure{Phase: prober.PhaseResolve, Reason: prober.ReasonDNS}}},
		},
	}}
	var out bytes.Buffer
	newCheckReport(req, res, time.Millisecond, time.Now()).writeText(&out)
	for _, want := range []string{
		"mx1.example.com 192.0.2.1 port 25    STARTTLS      OK",
		"dane match: yes · mta-sts names it: yes",
		"mx1.example.com 2001:db8::1 port 25    STARTTLS      FAILED at connect: refused",
		"gone.example.com port 25    STARTTLS      FAILED at resolve: dns",
		"Verdict: MTA-STS policy enforce (max_age 86400s). 0 of 2 MX hosts work.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestCheckTLSAndAuthFlags: check probes a server with an internal CA and
// credentials from the command line's flags alone, no config file.
func TestCheckTLSAndAuthFlags(t *testing.T) {
	ca := smtptest.NewCA(t)
	cert := ca.Issue(t, []string{"mail.internal.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, Users: map[string]string{"probe": "s3cret"}})
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrong, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := "127.0.0.1:" + strconv.Itoa(srv.Port)
	for _, tc := range []struct {
		args []string
		rc   int
	}{
		{[]string{"--module", "starttls"}, 1}, // the internal CA is not trusted
		{[]string{"--module", "starttls", "--tls.ca-file", ca.PEMFile(t), "--tls.server-name", "mail.internal.test"}, 0},
		{[]string{"--module", "starttls", "--tls.insecure-skip-verify"}, 0},
		{[]string{"--module", "starttls", "--tls.insecure-skip-verify", "--auth.username", "probe", "--auth.password-file", pw}, 0},
		{[]string{"--module", "starttls", "--tls.insecure-skip-verify", "--auth.username", "probe", "--auth.password-file", wrong}, 1},
		{[]string{"--module", "tcp", "--auth.username", "probe", "--auth.password-file", pw}, 2}, // AUTH needs TLS: refused like a config would be
		{[]string{"--module", "starttls", "--tls.ca-file", "/nonexistent/ca.pem"}, 2},
	} {
		if rc := run(append([]string{"check", target}, tc.args...)); rc != tc.rc {
			t.Errorf("check %v: exit %d, want %d", tc.args, rc, tc.rc)
		}
	}
}

// TestHelpShowsWhatApplies: the top-level help lists the server's flags
// (serve is the default command); check's help lists its own and not the server's.
func TestHelpShowsWhatApplies(t *testing.T) {
	help := func(args ...string) string {
		out, err := exec.Command(os.Args[0], append([]string{"-test.run=TestHelperRun", "--"}, args...)...).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "usage:") {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	top := help("--help")
	for _, want := range []string{"--web.listen-address", "--config.file", "--web.config.file", "--probe.max-concurrent"} {
		if !strings.Contains(top, want) {
			t.Errorf("--help lacks %s", want)
		}
	}
	check := help("check", "--help")
	for _, want := range []string{"--tls.ca-file", "tls.insecure-skip-verify", "--tls.server-name", "--auth.username", "--auth.password-file", "--auth.password-env"} {
		if !strings.Contains(check, want) {
			t.Errorf("check --help lacks %s", want)
		}
	}
	for _, server := range []string{"--probe.max-concurrent", "--history.limit", "--timeout-offset", "--web.listen-address"} {
		if strings.Contains(check, server) {
			t.Errorf("check --help lists the server flag %s", server)
		}
	}
}

// TestHelperRun runs run() with the arguments after "--" when invoked as a
// subprocess by TestHelpShowsWhatApplies (kingpin's --help exits the process).
func TestHelperRun(t *testing.T) {
	i := slices.Index(os.Args, "--")
	if i < 0 {
		t.Skip("only as a subprocess")
	}
	os.Exit(run(os.Args[i+1:]))
}

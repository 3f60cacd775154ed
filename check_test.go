package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/runner"
	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
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

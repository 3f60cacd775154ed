package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
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

// TestCheckReportPosture: check shows the source address, the required
// extensions and the TLS scan, as text and as JSON.
func TestCheckReportPosture(t *testing.T) {
	req, err := runner.Resolve(config.Builtin(), "mail.example.com:587", "")
	if err != nil {
		t.Fatal(err)
	}
	res := &prober.Result{Reachable: true, GreetingCode: 220, Source: mustAddr(t, "127.0.0.2"),
		Extensions:  []prober.Extension{{Name: "SMTPUTF8", Advertised: true}, {Name: "CHUNKING"}},
		TLSVersions: []prober.TLSVersionAccepted{{Version: "TLS 1.0", Accepted: true}, {Version: "TLS 1.3", Accepted: true}},
		Failure:     &prober.Failure{Phase: prober.PhaseEHLO, Reason: prober.ReasonExtensionMissing}}
	rep := newCheckReport(req, res, time.Millisecond, time.Now())
	var out bytes.Buffer
	rep.writeText(&out)
	for _, want := range []string{
		"FAILED at ehlo: extension_missing",
		"source:     127.0.0.2",
		"extensions: CHUNKING: no · SMTPUTF8: yes",
		"tls scan:   TLS 1.0 accepted: yes · TLS 1.3 accepted: yes",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	b, _ := json.Marshal(rep)
	for _, want := range []string{`"source_address":"127.0.0.2"`, `"extensions_advertised":{"CHUNKING":false,"SMTPUTF8":true}`,
		`"tls_versions_accepted":{"TLS 1.0":true,"TLS 1.3":true}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("json lacks %s: %s", want, b)
		}
	}
}

// TestCheckReportTLSRPT: the verdict of an mx check says where TLS reports go.
func TestCheckReportTLSRPT(t *testing.T) {
	cfg, err := config.Parse([]byte("modules:\n  mx:\n    prober: mx\n    mx: {tls_rpt: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := runner.Resolve(cfg, "example.com", "mx")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rpt  *prober.TLSRPT
		want string
	}{
		{&prober.TLSRPT{Records: 1, RUA: []string{"mailto:tlsrpt@example.com"}}, "TLS-RPT reports go to mailto:tlsrpt@example.com."},
		{&prober.TLSRPT{}, "No TLS-RPT record"},
		{&prober.TLSRPT{Records: 1}, "names no mailto: or https: rua"},
	} {
		res := &prober.Result{MX: &prober.MXResult{TLSRPT: tc.rpt,
			Hosts: []prober.MXHost{{Name: "mx1.example.com", Preference: 10, Result: &prober.Result{Reachable: true, GreetingCode: 220}}}}}
		rep := newCheckReport(req, res, time.Millisecond, time.Now())
		if !strings.Contains(rep.Verdict, tc.want) || rep.TLSRPT == nil || rep.TLSRPT.Published != tc.rpt.Published() {
			t.Errorf("verdict %q, tls_rpt %+v; want %q", rep.Verdict, rep.TLSRPT, tc.want)
		}
	}
}

// TestCheckRunsPosture: `check` with a module using every new option
// probes from the source address, scans TLS and fails on a missing extension.
func TestCheckRunsPosture(t *testing.T) {
	ca := smtptest.NewCA(t)
	now := time.Now()
	cert := ca.Issue(t, []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(time.Hour))
	srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert})
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, "modules:\n  m:\n    prober: starttls\n    timeout: 5s\n    source_ip_address: 127.0.0.2\n    tls_scan: true\n"+
		"    tls_config: {ca_file: "+ca.PEMFile(t)+"}\n    smtp: {require_extensions: [pipelining, smtputf8]}\n")
	if rc := run([]string{"check", "127.0.0.1:" + strconv.Itoa(srv.Port), "--config.file", path, "--module", "m"}); rc != 1 {
		t.Errorf("exit %d, want 1: SMTPUTF8 is not offered", rc)
	}
	peers := srv.Peers()
	if len(peers) != 4 || slices.ContainsFunc(peers, func(p string) bool { return p != "127.0.0.2" }) {
		t.Errorf("server saw %v, want the dialogue and the scans of TLS 1.0, 1.1 and 1.2 from 127.0.0.2", peers)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

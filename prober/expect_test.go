package prober

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// TestRequireExtensions: the extensions are checked on the EHLO that counts,
// the one after STARTTLS: the plaintext EHLO below offers CHUNKING and not
// SMTPUTF8, the one after TLS the other way round.
func TestRequireExtensions(t *testing.T) {
	p := newPKI(t)
	srv := func(t *testing.T) *smtptest.Server {
		return smtptest.NewServer(t, smtptest.Options{Cert: &p.good,
			Extensions:         []string{"CHUNKING", "STARTTLS"},
			ExtensionsAfterTLS: []string{"PIPELINING", "smtputf8", "8BITMIME"}})
	}
	t.Run("present", func(t *testing.T) {
		s := srv(t)
		m := module("starttls", p.caFile, 5*time.Second)
		m.SMTP.RequireExtensions = []string{"SMTPUTF8", "8BITMIME"}
		res := probe(t, Probe, s.Port, m)
		wantSuccess(t, res)
		want := []Extension{{"SMTPUTF8", true}, {"8BITMIME", true}}
		if !slices.Equal(res.Extensions, want) {
			t.Errorf("extensions %v, want %v", res.Extensions, want)
		}
	})
	t.Run("missing after TLS", func(t *testing.T) {
		s := srv(t)
		m := module("starttls", p.caFile, 5*time.Second)
		m.SMTP.RequireExtensions = []string{"SMTPUTF8", "CHUNKING", "DSN"}
		res := probe(t, Probe, s.Port, m)
		wantFailure(t, res, PhaseEHLO, ReasonExtensionMissing, 0)
		want := []Extension{{"SMTPUTF8", true}, {"CHUNKING", false}, {"DSN", false}}
		if !slices.Equal(res.Extensions, want) {
			t.Errorf("extensions %v, want %v", res.Extensions, want)
		}
		if msg := res.Failure.Err.Error(); !strings.Contains(msg, "CHUNKING, DSN") || strings.Contains(msg, "SMTPUTF8") {
			t.Errorf("error %q should name exactly the missing ones", msg)
		}
		noViolations(t, s)
		if cmds := s.Commands(); cmds[len(cmds)-1] != "QUIT" {
			t.Errorf("commands %q: a clean refusal ends with QUIT", cmds)
		}
	})
	t.Run("plain SMTP: its one EHLO counts", func(t *testing.T) {
		s := smtptest.NewServer(t, smtptest.Options{Extensions: []string{"PIPELINING", "SIZE 100"}})
		m := module("tcp", "", 5*time.Second)
		m.SMTP.RequireExtensions = []string{"PIPELINING", "SMTPUTF8"}
		res := probe(t, Probe, s.Port, m)
		wantFailure(t, res, PhaseEHLO, ReasonExtensionMissing, 0)
		if want := []Extension{{"PIPELINING", true}, {"SMTPUTF8", false}}; !slices.Equal(res.Extensions, want) {
			t.Errorf("extensions %v, want %v", res.Extensions, want)
		}
	})
	t.Run("none required: none reported", func(t *testing.T) {
		s := srv(t)
		res := probe(t, Probe, s.Port, module("starttls", p.caFile, 5*time.Second))
		wantSuccess(t, res)
		if res.Extensions != nil {
			t.Errorf("extensions %v, want nil", res.Extensions)
		}
	})
}

// TestGreetingAndEHLORegexp: the patterns match the reply's lines without
// their codes, joined by newlines; a mismatch is unexpected_text at the
// reply's phase, and the prober still says QUIT.
func TestGreetingAndEHLORegexp(t *testing.T) {
	p := newPKI(t)
	greeting := []string{"220-mx1.example.test ESMTP", "220 Postfix (Debian)"}
	for _, tc := range []struct {
		name, greetingRE, ehloRE string
		phase                    Phase // "" for success
	}{
		{"both match", `^mx1\.example\.test ESMTP\nPostfix \(Debian\)$`, `(?m)^SIZE [0-9]+$`, ""},
		{"greeting of another server", `^mx1\.example\.test ESMTP Exim`, "", PhaseGreeting},
		{"greeting regexp sees no codes", `^220`, "", PhaseGreeting},
		{"EHLO after TLS lacks the text", "", `(?m)^STARTTLS$`, PhaseEHLO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, Greeting: greeting})
			m := module("starttls", p.caFile, 5*time.Second)
			m.SMTP.GreetingRegexp, m.SMTP.EHLORegexp = config.NewRegexp(tc.greetingRE), config.NewRegexp(tc.ehloRE)
			res := probe(t, Probe, s.Port, m)
			noViolations(t, s)
			if tc.phase == "" {
				wantSuccess(t, res)
				return
			}
			wantFailure(t, res, tc.phase, ReasonUnexpectedText, 0)
			if cmds := s.Commands(); cmds[len(cmds)-1] != "QUIT" {
				t.Errorf("commands %q: a clean refusal ends with QUIT", cmds)
			}
			if tc.phase == PhaseGreeting && !strings.Contains(res.Failure.Err.Error(), `mx1.example.test ESMTP\x0aPostfix`) {
				t.Errorf("error %q should quote the greeting, escaped", res.Failure.Err)
			}
		})
	}
}

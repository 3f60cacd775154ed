//go:build e2e

// Issue 13: every module that applies, against Exim 4 and Dovecot's
// submission service, started by e2e/mtas.sh (from run.sh, or alone with
// `bash e2e/mtas.sh standalone`). Mail servers differ in ways that break
// monitors: Exim greets over several lines after a delay, refuses relaying
// with "550 relay not permitted" and drops a client that talks first;
// Dovecot advertises a bare "AUTH" before TLS, answers QUIT once its relay
// session is up and delays every AUTH from an address that recently failed.

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mtaEnv returns the named variables, skipping the test when one is unset:
// the servers run only under e2e/run.sh or e2e/mtas.sh standalone.
func mtaEnv(t *testing.T, names ...string) []string {
	t.Helper()
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = os.Getenv(n)
		if vals[i] == "" {
			t.Skipf("%s is not set: Exim and Dovecot are started by e2e/run.sh or `bash e2e/mtas.sh standalone`", n)
		}
	}
	return vals
}

// transcript runs a probe with debug=true and returns its text.
func transcript(t *testing.T, target, module string) string {
	t.Helper()
	q := url.Values{"target": {target}, "module": {module}, "debug": {"true"}}
	status, body, _, _ := get(t, exporterURL(t, "/probe", q), nil)
	if status != http.StatusOK {
		t.Fatalf("debug probe %s@%s: %d\n%s", module, target, status, body)
	}
	return body
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l) {
			t.Errorf("transcript lacks %q:\n%s", l, body)
		}
	}
}

// wantAuth: AUTH with the right password succeeded.
func wantAuth(t *testing.T, target, module string) probeResult {
	t.Helper()
	r := probe(t, target, module)
	wantSuccess(t, r)
	wantValue(t, r, 1, "probe_smtp_auth_success")
	if !r.m.has("probe_smtp_duration_seconds", "phase", "auth") {
		t.Errorf("%s: no auth phase timing", module)
	}
	return r
}

// authCases: AUTH with the right password, each mechanism the server
// offers (PLAIN, LOGIN, and the prober's own pick) on 587 and 465, in parallel.
func authCases(t *testing.T, name, sub, smtps string) {
	t.Helper()
	for _, c := range []struct{ target, module string }{
		{sub, "mta_starttls_auth"}, {sub, "mta_starttls_auth_plain"}, {sub, "mta_starttls_auth_login"}, {smtps, "mta_tls_auth"},
	} {
		t.Run(name+" "+c.module+"@"+port(t, c.target), func(t *testing.T) {
			t.Parallel()
			wantAuth(t, c.target, c.module)
		})
	}
}

// failuresEndWithQuit: a certificate the module does not trust fails the
// probe after the handshake; the prober then says QUIT over TLS (the log
// check finds each session ended by QUIT).
func failuresEndWithQuit(t *testing.T, sub, smtps string) {
	t.Helper()
	for _, c := range []struct{ target, module string }{{sub, "mta_starttls_untrusted"}, {smtps, "mta_tls_untrusted"}} {
		t.Run("untrusted certificate "+c.module, func(t *testing.T) {
			t.Parallel()
			r := probe(t, c.target, c.module)
			wantFailure(t, r, "tls", "cert_untrusted")
			certChecks(t, r, false)
		})
	}
}

var quitAnsweredRE = regexp.MustCompile(`C: QUIT\n.*S: 221 `)

// wantWrongPassword: AUTH with the wrong password fails with 535, and the
// prober then says QUIT and reads the 221 (it waits up to 1 s, inside the
// deadline). One probe, with debug=true for the transcript: a second failure
// would deepen Dovecot's auth penalty.
func wantWrongPassword(t *testing.T, target string) {
	t.Helper()
	body := transcript(t, target, "mta_starttls_auth_wrong")
	wantLines(t, body, "probe_success 0", `probe_smtp_failure{phase="auth",reason="auth_failed"} 1`,
		"probe_smtp_failure_reply_code 535", "probe_smtp_auth_success 0")
	if !quitAnsweredRE.MatchString(body) {
		t.Errorf("no QUIT answered by 221 after the failure:\n%s", body)
	}
}

// wantSubmission: the submission prober picks 587 on a host whose 587 and
// 465 work and where nothing listens on 2525.
func wantSubmission(t *testing.T, host, module string) probeResult {
	t.Helper()
	r := probe(t, host, module)
	if value(t, r, "probe_success") != 1 {
		t.Fatalf("probe_success != 1\n%s", r.context())
	}
	wantValue(t, r, 587, "probe_smtp_submission_port")
	wantValue(t, r, 1, "probe_smtp_reachable", "port", "465")
	wantValue(t, r, 0, "probe_smtp_reachable", "port", "2525")
	fs := r.m.find("probe_smtp_failure")
	if len(fs) != 1 || fs[0].Labels["port"] != "2525" || fs[0].Labels["reason"] != "refused" {
		t.Errorf("want one failure series, 2525 refused; got %v", fs)
	}
	return r
}

// standardPorts skips a submission-prober test when a server could not get
// 587 and 465 (taken on this machine): that prober dials the standard ports.
func standardPorts(t *testing.T, targets ...string) {
	t.Helper()
	for _, tg := range targets {
		if p := port(t, tg); p != "587" && p != "465" {
			t.Skipf("%s: not a standard submission port on this machine", tg)
		}
	}
}

var greetingTLSPhases = []string{"resolve", "connect", "greeting", "ehlo", "starttls", "tls", "quit"}

// submissionServer is what differs between the submission servers tested.
type submissionServer struct {
	host, sub, smtps string // the host, its 587 and its 465
	sizeLimit        float64
	// refusal: the transcript lines of its answers to MAIL and RCPT before AUTH.
	refusal []string
}

// submissionCases runs, in parallel, every module that applies to a
// submission server's 587 and 465.
func submissionCases(t *testing.T, s submissionServer) {
	t.Run("starttls 587: AUTH only after TLS", func(t *testing.T) {
		t.Parallel()
		r := probe(t, s.sub, "mta_starttls")
		wantSuccess(t, r)
		wantPhases(t, r, greetingTLSPhases)
		wantValue(t, r, 0, "probe_smtp_auth_before_tls")
		wantValue(t, r, 1, "probe_smtp_auth_advertised")
		wantValue(t, r, s.sizeLimit, "probe_smtp_size_limit_bytes")
		certChecks(t, r, true)
		wantSuccess(t, probe(t, s.sub, "mta_starttls_no_auth_before_tls"))
	})
	t.Run("tls 465", func(t *testing.T) {
		t.Parallel()
		r := probe(t, s.smtps, "mta_tls")
		wantSuccess(t, r)
		wantPhases(t, r, []string{"resolve", "connect", "tls", "greeting", "ehlo", "quit"})
		wantValue(t, r, 220, "probe_smtp_greeting_code")
		wantValue(t, r, 1, "probe_smtp_auth_advertised")
		certChecks(t, r, true)
	})
	authCases(t, "AUTH", s.sub, s.smtps)
	t.Run("RFC 6409", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ target, module string }{{s.sub, "mta_starttls_enforced"}, {s.smtps, "mta_tls_enforced"}} {
			r := probe(t, c.target, c.module)
			wantSuccess(t, r)
			wantValue(t, r, 1, "probe_smtp_auth_enforced")
		}
		r := wantAuth(t, s.sub, "mta_starttls_enforced_auth")
		wantValue(t, r, 1, "probe_smtp_auth_enforced")
		wantLines(t, transcript(t, s.sub, "mta_starttls_enforced"), append(s.refusal, "C: RSET")...)
	})
	t.Run("submission", func(t *testing.T) {
		standardPorts(t, s.sub, s.smtps)
		t.Parallel()
		wantSubmission(t, s.host, "mta_submission")
		r := wantSubmission(t, s.host, "mta_submission_auth")
		wantValue(t, r, 1, "probe_smtp_auth_success", "port", "587")
	})
	failuresEndWithQuit(t, s.sub, s.smtps)
}

func TestExim(t *testing.T) {
	env := mtaEnv(t, "E2E_EXIM_HOST", "E2E_EXIM_SMTP", "E2E_EXIM_SUBMISSION", "E2E_EXIM_SMTPS")
	smtp, sub := env[1], env[2]
	// Exim greets 25 and 587 after 1 s: the cases run in parallel.
	submissionCases(t, submissionServer{host: env[0], sub: sub, smtps: env[3], sizeLimit: 52428800,
		// No enhanced status code: the text decides.
		refusal: []string{"S: 250 OK", "S: 550 relay not permitted"}})
	t.Run("tcp 25: a three-line greeting", func(t *testing.T) {
		t.Parallel()
		r := probe(t, smtp, "mta_tcp")
		wantSuccess(t, r)
		wantPhases(t, r, []string{"resolve", "connect", "greeting", "ehlo", "quit"})
		wantValue(t, r, 220, "probe_smtp_greeting_code")
		wantValue(t, r, 1, "probe_smtp_starttls_advertised")
		wantValue(t, r, 0, "probe_smtp_auth_advertised")
		wantLines(t, transcript(t, smtp, "mta_tcp"), "S: 220-mail.e2e.test ESMTP Exim",
			"S: 220-second line of a multi-line greeting", "S: 220 third line", "C: QUIT", "S: 221 ")
	})
	t.Run("starttls 25: no AUTH", func(t *testing.T) {
		t.Parallel()
		r := probe(t, smtp, "mta_starttls")
		wantSuccess(t, r)
		wantPhases(t, r, greetingTLSPhases)
		wantValue(t, r, 0, "probe_smtp_auth_before_tls")
		wantValue(t, r, 0, "probe_smtp_auth_advertised")
		certChecks(t, r, true)
		wantFailure(t, probe(t, smtp, "mta_starttls_auth"), "auth", "auth_unsupported")
	})
	t.Run("AUTH with a wrong password", func(t *testing.T) {
		t.Parallel()
		wantWrongPassword(t, sub)
	})
	t.Run("a client that talks first is dropped", func(t *testing.T) {
		t.Parallel()
		if got := talkFirst(t, sub); !strings.HasPrefix(got, "554 SMTP synchronization error") {
			t.Errorf("Exim answered an EHLO sent before its greeting with %q, want its 554 synchronization error", got)
		}
	})
}

// earlyTalkerEHLO marks the one session that talks first on purpose; the
// log check expects Exim's synchronization error for it, and for no other.
const earlyTalkerEHLO = "EHLO early-talker.e2e.test"

// talkFirst sends EHLO before the greeting and returns what the server said.
func talkFirst(t *testing.T, target string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", target, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(earlyTalkerEHLO + "\r\n")); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for b.Len() < 1<<16 {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestDovecot(t *testing.T) {
	env := mtaEnv(t, "E2E_DOVECOT_HOST", "E2E_DOVECOT_SUBMISSION", "E2E_DOVECOT_SMTPS")
	sub := env[1]
	// The wrong password goes last: Dovecot then delays every AUTH from this
	// address (its auth penalty), correct passwords included. After AUTH it
	// answers QUIT once its relay session to Exim is up (Exim's 1 s delay).
	t.Run("no penalty yet", func(t *testing.T) {
		submissionCases(t, submissionServer{host: env[0], sub: sub, smtps: env[2],
			sizeLimit: 0, // SIZE without a limit
			refusal:   []string{"S: 530 5.7.0 Authentication required."}})
		t.Run("tcp 587: a bare AUTH before TLS is no mechanism", func(t *testing.T) {
			t.Parallel()
			r := probe(t, sub, "mta_tcp")
			wantSuccess(t, r)
			wantValue(t, r, 220, "probe_smtp_greeting_code")
			wantValue(t, r, 1, "probe_smtp_starttls_advertised")
			wantValue(t, r, 0, "probe_smtp_auth_advertised")
			wantLines(t, transcript(t, sub, "mta_tcp"), "S: 220 mail.e2e.test Dovecot", "S: 250-AUTH \n")
		})
	})
	t.Run("wrong password, then the auth penalty", func(t *testing.T) {
		wantWrongPassword(t, sub)
		// The next AUTH from this address waits out the penalty (4 s after
		// one failure), the right password included; a success resets it.
		r := wantAuth(t, sub, "mta_starttls_auth_patient")
		if a := value(t, r, "probe_smtp_duration_seconds", "phase", "auth"); a < 3 {
			t.Errorf("AUTH right after a failed one took %.3fs: Dovecot's auth penalty (4 s) did not show", a)
		}
		wantAuth(t, sub, "mta_starttls_auth")
	})
}

// ------------------------------------------------------------ server logs ---

// serverLog is one server's log and the rules every probe must keep
// towards that server, read from it after the tests.
type serverLog struct {
	name, path string
	check      func(lines []string) (sessions int, bad []string)
}

// markMTALogs notes where the Exim and Dovecot logs end before the tests;
// the function it returns checks what the tests added, prints a summary
// and reports whether every rule held.
func markMTALogs() func() bool {
	logs := []serverLog{
		{"Exim", os.Getenv("E2E_EXIM_LOG"), checkEximLog},
		{"Dovecot", os.Getenv("E2E_DOVECOT_LOG"), checkDovecotLog},
	}
	offsets := make([]int64, len(logs))
	for i, l := range logs {
		offsets[i] = fileSize(l.path)
	}
	return func() bool {
		ok := true
		for i, l := range logs {
			if l.path == "" {
				continue
			}
			sessions, bad, err := settledCheck(l, offsets[i])
			if err != nil {
				fmt.Fprintf(os.Stderr, "FAIL: reading the %s log: %v\n", l.name, err)
				ok = false
				continue
			}
			for _, b := range bad {
				fmt.Fprintf(os.Stderr, "FAIL: %s log (%s): %s\n", l.name, l.path, b)
			}
			ok = ok && len(bad) == 0
			fmt.Printf("%s log %s: %d SMTP sessions checked (no protocol complaint, QUIT last, no DATA, nothing queued): %d problems\n",
				l.name, l.path, sessions, len(bad))
		}
		return ok
	}
}

// settledCheck reads the log until its check passes or 3 s have passed: a
// server may log a session's end a moment after the probe read its 221.
func settledCheck(l serverLog, off int64) (int, []string, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		lines, err := maillogSince(l.path, off)
		if err != nil {
			return 0, nil, err
		}
		sessions, bad := l.check(lines)
		if len(bad) == 0 || time.Now().After(deadline) {
			return sessions, bad, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var (
	// With log_selector +smtp_connection +incoming_port: a session's start
	// and its clean end, keyed by the client's address and port.
	eximOpenRE = regexp.MustCompile(`SMTP connection from \[([^\]]+)\]:(\d+) I=\S+ \(TCP/IP connection count`)
	eximQuitRE = regexp.MustCompile(`SMTP connection from .*\[([^\]]+)\]:(\d+) I=\S+ closed by QUIT`)
	eximPeerRE = regexp.MustCompile(`\[([^\]]+)\]:(\d+) I=`)
	// What Exim logs when a client breaks the protocol or a message gets in.
	eximComplaintRE = regexp.MustCompile(`synchronization error|unexpected disconnection|connection from .* lost|` +
		`TLS error|SMTP protocol error|SMTP syntax error|command timeout|DATA|BDAT| <= `)
)

// checkEximLog: no complaint about a client, every session ended by QUIT,
// no DATA, nothing received. The one session that talks first on purpose
// (talkFirst) must be the only synchronization error.
func checkEximLog(lines []string) (int, []string) {
	var bad []string
	open, quit, exempt := map[string]int{}, map[string]int{}, map[string]bool{}
	for _, l := range lines {
		if m := eximOpenRE.FindStringSubmatch(l); m != nil {
			open[m[1]+":"+m[2]]++
		}
		if m := eximQuitRE.FindStringSubmatch(l); m != nil {
			quit[m[1]+":"+m[2]]++
		}
		if !eximComplaintRE.MatchString(l) {
			continue
		}
		if m := eximPeerRE.FindStringSubmatch(l); m != nil && strings.Contains(l, "synchronization error") &&
			strings.Contains(l, earlyTalkerEHLO) {
			exempt[m[1]+":"+m[2]] = true
			continue
		}
		bad = append(bad, "complaint: "+l)
	}
	sessions := 0
	for peer, n := range open {
		sessions += n
		if quit[peer] < n && !exempt[peer] {
			bad = append(bad, fmt.Sprintf("session from %s did not end with QUIT", peer))
		}
	}
	return sessions, bad
}

// checkDovecotLog: every session ends with the client's QUIT (Dovecot logs
// "Logged out", or "Aborted login by logging out" before AUTH succeeded; a
// client that just hangs up is "Connection closed"), no DATA or BDAT among
// the commands it received (log_debug = category=smtp-server), and no error
// or warning. Its relay sessions are in Exim's log.
func checkDovecotLog(lines []string) (int, []string) {
	var bad []string
	sessions := 0
	for _, l := range lines {
		switch {
		case strings.Contains(l, ": Info: Disconnected"):
			sessions++
			if !strings.Contains(l, "Logged out") && !strings.Contains(l, "by logging out") {
				bad = append(bad, "session did not end with QUIT: "+l)
			}
		case dovecotCommandRE.MatchString(l):
			bad = append(bad, "DATA/BDAT sent: "+l)
		case dovecotTroubleRE.MatchString(l):
			bad = append(bad, "complaint: "+l)
		}
	}
	return sessions, bad
}

var (
	dovecotCommandRE = regexp.MustCompile(`Received new command: (DATA|BDAT)\b`)
	dovecotTroubleRE = regexp.MustCompile(`: (Error|Warning|Fatal|Panic):`)
)

// The log checks against lines the real servers wrote: each rule catches
// what it names (a check that passes everything proves nothing).
func TestEximLogCheck(t *testing.T) {
	const (
		open  = "2026-12-03 08:46:19 SMTP connection from [127.0.0.1]:55722 I=[127.0.0.20]:587 (TCP/IP connection count = 1)"
		quit  = "2026-12-03 08:46:25 SMTP connection from (probe.e2e.test) [127.0.0.1]:55722 I=[127.0.0.20]:587 closed by QUIT"
		early = "2026-12-03 08:35:21 SMTP protocol synchronization error (input sent without waiting for greeting): rejected connection from H=[127.0.0.1]:55722 I=[127.0.0.20]:587 input=\"" + earlyTalkerEHLO + "\\r\\n\""
	)
	for _, c := range []struct {
		name  string
		lines []string
		bad   int
	}{
		{"clean", []string{open, quit, "2026-12-03 08:46:25 no MAIL in SMTP connection from (probe.e2e.test) [127.0.0.1]:55722 I=[127.0.0.20]:587 D=1s C=EHLO,STARTTLS,EHLO,QUIT"}, 0},
		{"the early talker", []string{open, early}, 0},
		{"another synchronization error", []string{open, strings.Replace(early, "early-talker", "probe", 1)}, 2},
		{"hung up", []string{open, "2026-12-03 08:46:21 SMTP connection from (probe.e2e.test) [127.0.0.1]:55722 I=[127.0.0.20]:587 lost D=1s"}, 2},
		{"no close_notify", []string{open, "2026-12-03 08:46:26 TLS error on connection from (probe.e2e.test) [127.0.0.1]:55722 I=[127.0.0.20]:587 (recv): The TLS connection was non-properly terminated.", quit}, 1},
		{"DATA", []string{open, "2026-12-03 08:46:24 SMTP protocol error in \"DATA\" H=(probe.e2e.test) [127.0.0.1]:55722 I=[127.0.0.20]:587 valid RCPT command must precede DATA", quit}, 1},
		{"no QUIT", []string{open}, 1},
	} {
		if sessions, bad := checkEximLog(c.lines); len(bad) != c.bad || sessions != 1 {
			t.Errorf("%s: %d sessions, problems %q; want 1 session, %d problems", c.name, sessions, bad, c.bad)
		}
	}
}

func TestDovecotLogCheck(t *testing.T) {
	for _, c := range []struct {
		line string
		bad  bool
	}{
		{"Dec 03 08:46:25 submission-login: Info: Disconnected: Aborted login by logging out (no auth attempts in 0 secs): user=<>, rip=127.0.0.1, lip=127.0.0.21, session=<TlF4y7ZhJN9/AAAB>", false},
		{"Dec 03 08:43:46 submission(probe@e2e.test)<4423><UG3owbZhxqJ/AAAB>: Info: Disconnected: Logged out (state=GREETING) in=6 out=37", false},
		{"Dec 03 08:46:25 submission-login: Info: Disconnected: Connection closed (no auth attempts in 0 secs): user=<>, rip=127.0.0.1, lip=127.0.0.21, session=<3NJxy7ZhGN9/AAAB>", true},
		{"Dec 03 08:46:25 submission-login: Debug: smtp-server: conn 127.0.0.1:57124 [1]: Received new command: DATA ", true},
		{"Dec 03 08:43:45 submission(16656): Error: mail_location not set and autodetection failed", true},
	} {
		if _, bad := checkDovecotLog([]string{c.line}); (len(bad) > 0) != c.bad {
			t.Errorf("%q: problems %q, want a problem: %v", c.line, bad, c.bad)
		}
	}
}

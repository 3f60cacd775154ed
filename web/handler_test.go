package web

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/runner"
)

const testPassword = "s3cr3t-PASSWORD"

// testConfig has every prober; the submission module probes only refused, a
// port nothing listens on, so no test dials the machine's real submission ports.
func testConfig(refused int) string {
	return fmt.Sprintf(`
modules:
  tcp:
    prober: tcp
    timeout: 5s
  starttls:
    prober: starttls
    timeout: 5s
    smtp:
      auth: {username: u, password: %s}
  tls:
    prober: tls
    timeout: 3s
  submission:
    prober: submission
    timeout: 5s
    submission:
      ports: [{port: %d, prober: starttls}]
`, testPassword, refused)
}

type testServer struct {
	h   *Handler
	reg *prometheus.Registry
	url string
}

func newTestServer(t *testing.T, yml string) *testServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smtp.yml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	sc := config.NewSafeConfig(path, reg)
	if err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	metrics := NewSelfMetrics(reg)
	h := &Handler{
		Config: sc, Runner: &runner.Runner{Logger: slog.New(slog.DiscardHandler), ProberLevel: slog.LevelDebug, OnPanic: metrics.CountPanic},
		TimeoutOffset: 500 * time.Millisecond, History: NewHistory(10), Metrics: metrics,
	}
	pages := &Pages{Handler: h}
	mux := http.NewServeMux()
	mux.Handle("/probe", h)
	mux.HandleFunc("/", pages.Landing)
	mux.HandleFunc("/logs", pages.Logs)
	mux.HandleFunc("/config", pages.Config)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testServer{h: h, reg: reg, url: srv.URL}
}

// get fetches path; header is name, value pairs.
func (s *testServer) get(t *testing.T, path string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

// refusedPort is a loopback port nothing listens on: a probe of it fails at
// connect/refused at once, with no server to write.
func refusedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// fakeSMTP is a minimal well-behaved plaintext SMTP server for the tcp prober.
func fakeSMTP(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				_, _ = io.WriteString(c, "220-fake.test ESMTP\r\n220 ready\r\n")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO "):
						_, _ = io.WriteString(c, "250-fake.test\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n")
					case cmd == "QUIT":
						_, _ = io.WriteString(c, "221 bye\r\n")
						return
					default:
						_, _ = io.WriteString(c, "502 not implemented\r\n")
					}
				}
			})
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestProbeBadRequests(t *testing.T) {
	s := newTestServer(t, testConfig(refusedPort(t)))
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"no target", "", []string{"target"}},
		{"empty target", "target=&module=tcp", []string{"target"}},
		{"scheme", "target=smtp://mail.example.com&module=tcp", []string{"smtp://mail.example.com"}},
		{"space in host", "target=mail%20example.com&module=tcp", []string{"host contains"}},
		{"bad IPv6", "target=[127.0.0.1]:25&module=tcp", []string{"IPv6"}},
		{"port too big", "target=mail.example.com:70000&module=tcp", []string{"70000", "out of range"}},
		{"port zero", "target=mail.example.com:0", []string{"out of range"}},
		{"port not a number", "target=mail.example.com:smtp", []string{"not a number"}},
		{"unknown module", "target=mail.example.com:25&module=nope", []string{`unknown module "nope"`, "starttls, submission, tcp, tls"}},
		{"port to submission", "target=mail.example.com:587&module=submission", []string{`"submission"`, "without a port"}},
		{"IPv6 port to submission", "target=[::1]:465&module=submission", []string{"without a port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, hdr := s.get(t, "/probe?"+tc.query)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %q", code, body)
			}
			if strings.Count(body, "\n") != 1 || !strings.HasSuffix(body, "\n") {
				t.Errorf("body %q is not one line", body)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body %q does not contain %q", body, w)
				}
			}
		})
	}
	if got := testutil.ToFloat64(s.h.Metrics.moduleUnknown); got != 1 {
		t.Errorf("smtp_exporter_module_unknown_total = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(s.h.Metrics.probes); n != 0 {
		t.Errorf("bad requests counted as probes: %d series", n)
	}
	if l := s.h.History.List(); len(l) != 0 {
		t.Errorf("bad requests entered the history: %d", len(l))
	}
}

func TestProbeUnknownModuleCounter(t *testing.T) {
	s := newTestServer(t, testConfig(refusedPort(t)))
	for i := range 3 {
		s.get(t, "/probe?target=mail.example.com:25&module=nope"+strconv.Itoa(i))
	}
	exp := `
# HELP smtp_exporter_module_unknown_total Probe requests that named a module the config does not have.
# TYPE smtp_exporter_module_unknown_total counter
smtp_exporter_module_unknown_total 3
`
	if err := testutil.GatherAndCompare(s.reg, strings.NewReader(exp), "smtp_exporter_module_unknown_total"); err != nil {
		t.Error(err)
	}
}

// TestProbeModuleOmittedNotConfigured: the by-port module must exist, else 400 asking for module=.
func TestProbeModuleOmittedNotConfigured(t *testing.T) {
	s := newTestServer(t, "modules:\n  mine:\n    prober: tcp\n")
	for target, module := range map[string]string{
		"mail.example.com:587": "starttls", "mail.example.com:25": "starttls",
		"mail.example.com:465": "tls", "mail.example.com": "submission",
	} {
		code, body, _ := s.get(t, "/probe?target="+target)
		if code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", target, code)
		}
		for _, w := range []string{"module=", `"` + module + `"`, "mine"} {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body %q does not contain %q", target, body, w)
			}
		}
	}
	if got := testutil.ToFloat64(s.h.Metrics.moduleUnknown); got != 0 {
		t.Errorf("an omitted module counted as unknown: %v", got)
	}
}

func TestProbeTimeout(t *testing.T) {
	const offset = 500 * time.Millisecond
	for _, tc := range []struct {
		module time.Duration
		header string
		offset time.Duration
		want   time.Duration
	}{
		{10 * time.Second, "", offset, 10 * time.Second},
		{10 * time.Second, "5", offset, 4500 * time.Millisecond},
		{10 * time.Second, "5", 0, 5 * time.Second},
		{10 * time.Second, "30", offset, 10 * time.Second},
		{10 * time.Second, "10.5", offset, 10 * time.Second},
		{10 * time.Second, "10.4", offset, 9900 * time.Millisecond},
		{time.Second, "1.5", offset, time.Second},
		{10 * time.Second, "0.3", offset, 150 * time.Millisecond}, // smaller than the offset: half the scrape timeout
		{10 * time.Second, "0.5", offset, 250 * time.Millisecond}, // equal to the offset
		{10 * time.Second, "1e300", offset, 10 * time.Second},
	} {
		got, err := probeTimeout(tc.module, tc.header, tc.offset)
		if err != nil || got != tc.want {
			t.Errorf("probeTimeout(%s, %q, %s) = %s, %v; want %s", tc.module, tc.header, tc.offset, got, err, tc.want)
		}
	}
	for _, header := range []string{"abc", "5s", "-1", "0", "-0", "NaN", "Inf", "+Inf", "-Inf", " 5", "0x"} {
		if got, err := probeTimeout(10*time.Second, header, offset); err == nil {
			t.Errorf("probeTimeout(%q) = %s, want an error", header, got)
		}
	}
}

func TestProbeTimeoutHeaderGarbage(t *testing.T) {
	s := newTestServer(t, testConfig(refusedPort(t)))
	code, body, _ := s.get(t, "/probe?target=127.0.0.1:25&module=tcp", "X-Prometheus-Scrape-Timeout-Seconds", "soon")
	if code != http.StatusBadRequest || !strings.Contains(body, "X-Prometheus-Scrape-Timeout-Seconds") {
		t.Errorf("garbage scrape timeout header: %d %q, want 400 naming the header", code, body)
	}
	if n := testutil.CollectAndCount(s.h.Metrics.probes); n != 0 {
		t.Errorf("a rejected request ran a probe")
	}
}

// TestBadRequestsQuoteAShortPrefix: a 400 quotes at most a short, escaped
// prefix of what the client sent, however much that was.
func TestBadRequestsQuoteAShortPrefix(t *testing.T) {
	s := newTestServer(t, testConfig(refusedPort(t)))
	huge := strings.Repeat("A", 100_000)
	hostile := "[" + strings.Repeat("%FF", 299) // 300 bytes, each escaped as \xff in a quote
	for _, tc := range []struct {
		name, query, header, want string
	}{
		{"100 KB module name", "target=mail.example.com:25&module=" + huge, "", `unknown module "AAAA`},
		{"100 KB target", "target=" + huge + "&module=tcp", "", `target "AAAA`},
		{"300 escaped bytes", "target=" + hostile + "&module=tcp", "", `target "[\xff`},
		{"250-byte port", "target=mail.example.com:" + huge[:250] + "&module=tcp", "", `port "AAAA`},
		{"100 KB scrape timeout", "target=127.0.0.1:25&module=tcp", huge, `X-Prometheus-Scrape-Timeout-Seconds "AAAA`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.header != "" {
				header = []string{"X-Prometheus-Scrape-Timeout-Seconds", tc.header}
			}
			code, body, _ := s.get(t, "/probe?"+tc.query, header...)
			if code != http.StatusBadRequest || !strings.Contains(body, tc.want) || !strings.Contains(body, "…") {
				t.Errorf("status %d, body %.200q: want 400 quoting %q…", code, body, tc.want)
			}
			if len(body) > 600 { // 64 bytes escaped as \xff take 256
				t.Errorf("400 body is %d bytes, want a few hundred at most", len(body))
			}
		})
	}
	if got := testutil.ToFloat64(s.h.Metrics.moduleUnknown); got != 1 {
		t.Errorf("smtp_exporter_module_unknown_total = %v, want 1 (the 100 KB module name)", got)
	}
}

// TestProbeRefused runs a real probe that fails at connect: still 200, with the failure in the metrics.
func TestProbeRefused(t *testing.T) {
	port := refusedPort(t)
	s := newTestServer(t, testConfig(port))
	code, body, hdr := s.get(t, fmt.Sprintf("/probe?target=127.0.0.1:%d&module=tcp", port), "X-Prometheus-Scrape-Timeout-Seconds", "4")
	if code != http.StatusOK {
		t.Fatalf("status %d, body %q", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, w := range []string{
		"probe_success 0\n", "probe_smtp_reachable 0\n", "probe_ip_protocol 4\n",
		`probe_smtp_failure{phase="connect",reason="refused"} 1`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("exposition lacks %q:\n%s", w, body)
		}
	}
	for _, bad := range []string{"target=", "module=", "smtp_exporter_", "probe_smtp_greeting_code", "probe_smtp_failure_reply_code"} {
		if strings.Contains(body, bad) {
			t.Errorf("exposition contains %q:\n%s", bad, body)
		}
	}

	s.get(t, fmt.Sprintf("/probe?target=127.0.0.1:%d&module=tcp", port))
	exp := `
# HELP smtp_exporter_probes_total Probes run, by module and result (success or failure).
# TYPE smtp_exporter_probes_total counter
smtp_exporter_probes_total{module="tcp",result="failure"} 2
# HELP smtp_exporter_probes_in_flight Probes running now.
# TYPE smtp_exporter_probes_in_flight gauge
smtp_exporter_probes_in_flight 0
`
	if err := testutil.GatherAndCompare(s.reg, strings.NewReader(exp), "smtp_exporter_probes_total", "smtp_exporter_probes_in_flight"); err != nil {
		t.Error(err)
	}

	list := s.h.History.List()
	if len(list) != 2 || list[0].Success || list[0].Failure != "connect/refused" || list[0].Module != "tcp" ||
		list[0].Target != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("history: %+v", list)
	}
}

func TestProbeSuccessDebugTranscript(t *testing.T) {
	s := newTestServer(t, testConfig(refusedPort(t)))
	port := fakeSMTP(t)

	code, body, _ := s.get(t, fmt.Sprintf("/probe?target=127.0.0.1:%d&module=tcp", port))
	if code != http.StatusOK || !strings.Contains(body, "probe_success 1\n") || !strings.Contains(body, "probe_smtp_greeting_code 220\n") {
		t.Fatalf("status %d, exposition:\n%s", code, body)
	}

	code, body, hdr := s.get(t, fmt.Sprintf("/probe?target=127.0.0.1:%d&module=tcp&debug=true", port))
	if code != http.StatusOK {
		t.Fatalf("status %d, body %q", code, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	want := []string{
		"Logs for the probe:",
		"beginning probe",
		// The whole transcript, both directions, every line of the multi-line replies.
		"DEBUG S: 220-fake.test ESMTP", "DEBUG S: 220 ready", "DEBUG C: EHLO ", "DEBUG S: 250 STARTTLS", "DEBUG C: QUIT", "DEBUG S: 221 bye",
		"probe succeeded",
		"Metrics that would have been returned:",
		"Module configuration (tcp):", "prober: tcp", "timeout: 5s",
	}
	last := -1
	for _, w := range want {
		i := strings.Index(body, w)
		if i < 0 {
			t.Errorf("debug output lacks %q", w)
			continue
		}
		if i < last {
			t.Errorf("debug output has %q out of order", w)
		}
		last = i
	}
	metrics := body[strings.Index(body, "Metrics that would"):strings.Index(body, "Module configuration")]
	for _, w := range []string{
		"# TYPE probe_success gauge\n", "probe_success 1\n", "probe_smtp_size_limit_bytes 1.024e+07\n",
		"probe_smtp_starttls_advertised 1\n", `probe_smtp_duration_seconds{phase="ehlo"}`, "probe_smtp_greeting_code 220\n",
	} {
		if !strings.Contains(metrics, w) {
			t.Errorf("debug output's metrics lack %q", w)
		}
	}
	if t.Failed() {
		t.Logf("debug output:\n%s", body)
	}

	exp := `
# HELP smtp_exporter_probes_total Probes run, by module and result (success or failure).
# TYPE smtp_exporter_probes_total counter
smtp_exporter_probes_total{module="tcp",result="success"} 2
`
	if err := testutil.GatherAndCompare(s.reg, strings.NewReader(exp), "smtp_exporter_probes_total"); err != nil {
		t.Error(err)
	}
}

// TestProbeModuleChosenByPort runs the probe through HTTP and reads which
// module ran from the debug output.
func TestProbeModuleChosenByPort(t *testing.T) {
	refused := refusedPort(t)
	s := newTestServer(t, testConfig(refused))
	for _, tc := range []struct{ target, module string }{
		{fmt.Sprintf("127.0.0.1:%d", refused), "starttls"},
		{"127.0.0.1:465", "tls"},
		{"127.0.0.1", "submission"},
	} {
		code, body, _ := s.get(t, "/probe?debug=true&target="+tc.target, "X-Prometheus-Scrape-Timeout-Seconds", "3")
		if code != http.StatusOK {
			t.Errorf("%s: status %d, body %q", tc.target, code, body)
			continue
		}
		if !strings.Contains(body, "Module configuration ("+tc.module+"):") {
			t.Errorf("%s: want module %s, debug output:\n%s", tc.target, tc.module, body)
		}
		if tc.module == "submission" && !strings.Contains(body, fmt.Sprintf(`probe_smtp_failure{phase="connect",port="%d",reason="refused"} 1`, refused)) {
			t.Errorf("submission: debug output lacks the refused port's failure:\n%s", body)
		}
	}
}

// TestSecretsNeverShown: a module's password appears in no page, debug output or log.
func TestSecretsNeverShown(t *testing.T) {
	refused := refusedPort(t)
	s := newTestServer(t, testConfig(refused))
	probePath := fmt.Sprintf("/probe?target=127.0.0.1:%d&module=starttls", refused)

	pages := map[string]string{}
	_, pages["probe"], _ = s.get(t, probePath)
	_, pages["debug"], _ = s.get(t, probePath+"&debug=true")
	_, pages["config"], _ = s.get(t, "/config")
	_, pages["landing"], _ = s.get(t, "/")
	for _, p := range s.h.History.List() {
		_, pages[fmt.Sprintf("logs %d", p.ID)], _ = s.get(t, fmt.Sprintf("/logs?id=%d", p.ID))
	}
	if len(pages) != 6 {
		t.Fatalf("expected two probes in the history, pages %d", len(pages))
	}
	for name, body := range pages {
		if strings.Contains(body, testPassword) || strings.Contains(body, "s3cr3t") {
			t.Errorf("%s shows the password:\n%s", name, body)
		}
	}
	for _, name := range []string{"debug", "config"} {
		if !strings.Contains(pages[name], "password: <secret>") {
			t.Errorf("%s does not show the password as <secret>:\n%s", name, pages[name])
		}
	}
	if !strings.Contains(pages["debug"], "Module configuration (starttls):") || !strings.Contains(pages["debug"], "username: u") {
		t.Errorf("debug output lacks the module config:\n%s", pages["debug"])
	}
}

func TestLandingAndLogs(t *testing.T) {
	refused := refusedPort(t)
	s := newTestServer(t, testConfig(refused))

	code, body, _ := s.get(t, "/")
	if code != http.StatusOK || !strings.Contains(body, "No probes yet.") {
		t.Errorf("empty landing page: %d\n%s", code, body)
	}
	for _, m := range []string{"tcp", "starttls", "tls", "submission"} {
		if !strings.Contains(body, `<option value="`+m+`">`) {
			t.Errorf("probe form lacks module %s", m)
		}
	}

	smtpPort := fakeSMTP(t)
	s.get(t, fmt.Sprintf("/probe?target=127.0.0.1:%d&module=tcp", refused))  // id 0, fails
	s.get(t, fmt.Sprintf("/probe?target=127.0.0.1:%d&module=tcp", smtpPort)) // id 1, succeeds

	code, body, hdr := s.get(t, "/")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("landing page: %d %q", code, hdr.Get("Content-Type"))
	}
	i0, i1 := strings.Index(body, `href="logs?id=0"`), strings.Index(body, `href="logs?id=1"`)
	if i0 < 0 || i1 < 0 {
		t.Fatalf("landing page lacks the log links:\n%s", body)
	}
	if i1 > i0 {
		t.Error("landing page does not list the newest probe first")
	}
	for _, w := range []string{"connect/refused", fmt.Sprintf("127.0.0.1:%d", refused), fmt.Sprintf("127.0.0.1:%d", smtpPort), `class="ok">success`, `class="fail">failed`} {
		if !strings.Contains(body, w) {
			t.Errorf("landing page lacks %q", w)
		}
	}

	code, body, hdr = s.get(t, "/logs?id=1")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") ||
		!strings.Contains(body, "S: 220 ready") || !strings.Contains(body, "probe succeeded") {
		t.Errorf("/logs?id=1: %d\n%s", code, body)
	}
	code, body, _ = s.get(t, "/logs?id=0")
	if code != http.StatusOK || !strings.Contains(body, "probe failed") || !strings.Contains(body, "connect/refused") {
		t.Errorf("/logs?id=0: %d\n%s", code, body)
	}

	for path, want := range map[string]int{
		"/logs": 400, "/logs?id=": 400, "/logs?id=abc": 400, "/logs?id=1.5": 400,
		"/logs?id=2": 404, "/logs?id=-1": 404, "/logs?id=99999": 404,
		"/nope": 404,
	} {
		if code, body, _ := s.get(t, path); code != want {
			t.Errorf("%s: status %d, want %d (%q)", path, code, want, body)
		}
	}
}

func TestConfigPage(t *testing.T) {
	s := newTestServer(t, testConfig(refusedPort(t)))
	code, body, hdr := s.get(t, "/config")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/config: %d %q", code, hdr.Get("Content-Type"))
	}
	// What /config shows is a config that loads.
	c, err := config.Parse([]byte(body))
	if err != nil {
		t.Fatalf("/config output does not parse: %v\n%s", err, body)
	}
	if got := c.ModuleNames(); strings.Join(got, ",") != "starttls,submission,tcp,tls" {
		t.Errorf("/config modules %v", got)
	}
}

func TestHistory(t *testing.T) {
	ids := func(ps []*Probe) string {
		var b bytes.Buffer
		for _, p := range ps {
			fmt.Fprintf(&b, "%d,", p.ID)
		}
		return b.String()
	}
	add := func(h *History, success ...bool) {
		for _, ok := range success {
			h.Add(&Probe{Success: ok})
		}
	}

	t.Run("limit", func(t *testing.T) {
		h := NewHistory(3)
		add(h, true, true, true, true, true)
		if got := ids(h.List()); got != "4,3,2," {
			t.Errorf("List = %s, want 4,3,2, (newest first, limit 3)", got)
		}
		if h.Get(1) != nil {
			t.Error("Get of an aged-out probe found it")
		}
		if p := h.Get(4); p == nil || p.ID != 4 {
			t.Errorf("Get(4) = %+v", p)
		}
	})
	t.Run("failures preserved", func(t *testing.T) {
		h := NewHistory(2)
		add(h, false, true, false, true, true, true) // ids 0..5; failures 0 and 2
		if got := ids(h.List()); got != "5,4,2,0," {
			t.Errorf("List = %s, want 5,4,2,0,", got)
		}
		for _, id := range []int64{0, 2} {
			if p := h.Get(id); p == nil || p.Success {
				t.Errorf("Get(%d) = %+v, want the kept failure", id, p)
			}
		}
		if h.Get(3) != nil {
			t.Error("an aged-out success is still kept")
		}
	})
	t.Run("failures bounded", func(t *testing.T) {
		h := NewHistory(2)
		add(h, false, false, false, true, true)
		if got := ids(h.List()); got != "4,3,2,1," {
			t.Errorf("List = %s, want 4,3,2,1,", got)
		}
	})
	t.Run("no duplicates", func(t *testing.T) {
		h := NewHistory(3)
		add(h, false, true, false)
		if got := ids(h.List()); got != "2,1,0," {
			t.Errorf("List = %s, want each probe once", got)
		}
	})
	t.Run("zero limit", func(t *testing.T) {
		h := NewHistory(0)
		p := &Probe{}
		add(h, true)
		h.Add(p)
		if p.ID != 1 || len(h.List()) != 0 || h.Get(1) != nil {
			t.Errorf("limit 0: id %d, list %d", p.ID, len(h.List()))
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		h := NewHistory(5)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				for j := range 25 {
					h.Add(&Probe{Success: (i+j)%3 != 0})
					_ = h.List()
					_ = h.Get(int64(j))
				}
			})
		}
		wg.Wait()
		seen := map[int64]bool{}
		for _, p := range h.List() {
			if seen[p.ID] {
				t.Errorf("probe %d listed twice", p.ID)
			}
			seen[p.ID] = true
		}
		if h.List()[0].ID != 99 {
			t.Errorf("newest probe %d, want 99", h.List()[0].ID)
		}
	})
}

//go:build e2e

// Package e2e holds the end-to-end suite: it talks HTTP to the built
// smtp_exporter binary and to a real Prometheus, both started by e2e/run.sh
// together with a private Postfix and a firewalled network namespace.
// Run it with `bash e2e/run.sh`; the tests read every address from E2E_*
// environment variables set there.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// httpClient is used for every request: nothing in this suite can hang.
var httpClient = &http.Client{Timeout: 30 * time.Second}

func env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the suite with e2e/run.sh", name)
	}
	return v
}

func envInt(t testing.TB, name string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(env(t, name), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func envSeconds(t testing.TB, name string) time.Duration {
	return time.Duration(envInt(t, name)) * time.Second
}

// port returns the port of a HOST:PORT env value.
func port(t testing.TB, hostport string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	return p
}

// ---------------------------------------------------------------- parsing ---

type sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

func (s sample) String() string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, s.Labels[k]))
	}
	return fmt.Sprintf("%s{%s} %g", s.Name, strings.Join(parts, ","), s.Value)
}

type metrics struct {
	samples []sample
	types   map[string]string // from # TYPE lines
}

// parseExposition parses the Prometheus text exposition format (what the
// exporter serves to Prometheus; OpenMetrics is not requested here).
func parseExposition(body string) (metrics, error) {
	m := metrics{types: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			f := strings.Fields(line)
			if len(f) >= 4 && f[1] == "TYPE" {
				m.types[f[2]] = f[3]
			}
			continue
		}
		s, err := parseSampleLine(line)
		if err != nil {
			return m, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		m.samples = append(m.samples, s)
	}
	return m, sc.Err()
}

func parseSampleLine(line string) (sample, error) {
	s := sample{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, fmt.Errorf("no metric name")
	}
	s.Name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " ,")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, "=")
			if eq <= 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
				return s, fmt.Errorf("bad label")
			}
			key := strings.TrimSpace(rest[:eq])
			rest = rest[eq+2:]
			var b strings.Builder
			closed := false
			for j := 0; j < len(rest); j++ {
				c := rest[j]
				if c == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						b.WriteByte('\n')
					default:
						b.WriteByte(rest[j])
					}
					continue
				}
				if c == '"' {
					rest = rest[j+1:]
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return s, fmt.Errorf("unterminated label value")
			}
			if _, dup := s.Labels[key]; dup {
				return s, fmt.Errorf("duplicate label %q", key)
			}
			s.Labels[key] = b.String()
		}
	}
	f := strings.Fields(rest)
	if len(f) < 1 || len(f) > 2 {
		return s, fmt.Errorf("bad value/timestamp")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, err
	}
	s.Value = v
	return s, nil
}

func labelsMatch(s sample, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if s.Labels[kv[i]] != kv[i+1] {
			return false
		}
	}
	return true
}

// find returns the samples of a metric whose labels include the given pairs.
func (m metrics) find(name string, kv ...string) []sample {
	var out []sample
	for _, s := range m.samples {
		if s.Name == name && labelsMatch(s, kv) {
			out = append(out, s)
		}
	}
	return out
}

func (m metrics) has(name string, kv ...string) bool { return len(m.find(name, kv...)) > 0 }

func (m metrics) dump() string {
	var b strings.Builder
	for _, s := range m.samples {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// ----------------------------------------------------------------- probes ---

type probeResult struct {
	url     string
	status  int
	body    string
	elapsed time.Duration
	m       metrics
}

func (r probeResult) context() string {
	return fmt.Sprintf("GET %s -> %d after %v\n%s", r.url, r.status, r.elapsed.Round(time.Millisecond), r.body)
}

func exporterURL(t testing.TB, path string, q url.Values) string {
	u := url.URL{Scheme: "http", Host: env(t, "E2E_EXPORTER"), Path: path}
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func get(t testing.TB, rawurl string, header http.Header) (int, string, http.Header, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawurl, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawurl, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", rawurl, err)
	}
	return resp.StatusCode, string(b), resp.Header, time.Since(start)
}

// rawProbe calls /probe and returns the answer unparsed.
func rawProbe(t testing.TB, q url.Values, header http.Header) probeResult {
	t.Helper()
	u := exporterURL(t, "/probe", q)
	status, body, _, took := get(t, u, header)
	return probeResult{url: u, status: status, body: body, elapsed: took}
}

// probe runs one probe, requires 200 and a well-formed answer that keeps the
// contract's general rules, and returns it parsed.
func probe(t testing.TB, target, module string) probeResult {
	t.Helper()
	return probeWith(t, target, module, nil)
}

func probeWith(t testing.TB, target, module string, header http.Header) probeResult {
	t.Helper()
	q := url.Values{"target": {target}}
	if module != "" {
		q.Set("module", module)
	}
	r := rawProbe(t, q, header)
	if r.status != http.StatusOK {
		t.Fatalf("want 200: %s", r.context())
	}
	m, err := parseExposition(r.body)
	if err != nil {
		t.Fatalf("unparsable exposition: %v\n%s", err, r.context())
	}
	r.m = m
	checkProbeExposition(t, r)
	return r
}

// checkProbeExposition applies the contract's general rules to every probe
// answer: only probe_* metrics, all gauges, no target label, no duplicate
// series, and failure series only on failure.
func checkProbeExposition(t testing.TB, r probeResult) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range r.m.samples {
		if !strings.HasPrefix(s.Name, "probe_") {
			t.Errorf("non-probe metric %s in /probe answer", s)
		}
		if typ := r.m.types[s.Name]; typ != "gauge" {
			t.Errorf("%s: TYPE %q, the contract says all probe metrics are gauges", s.Name, typ)
		}
		if _, ok := s.Labels["target"]; ok {
			t.Errorf("%s carries a target label", s)
		}
		if seen[s.String()] {
			t.Errorf("duplicate series %s", s)
		}
		seen[s.String()] = true
	}
	if t.Failed() {
		t.Fatalf("malformed probe answer:\n%s", r.context())
	}
}

// value requires exactly one series matching name and labels and returns it.
func value(t testing.TB, r probeResult, name string, kv ...string) float64 {
	t.Helper()
	ss := r.m.find(name, kv...)
	if len(ss) != 1 {
		t.Fatalf("want exactly one %s%v, got %d\n%s", name, kv, len(ss), r.context())
	}
	return ss[0].Value
}

func wantValue(t testing.TB, r probeResult, want float64, name string, kv ...string) {
	t.Helper()
	if got := value(t, r, name, kv...); got != want {
		t.Errorf("%s%v = %v, want %v", name, kv, got, want)
	}
}

func wantAbsent(t testing.TB, r probeResult, name string, kv ...string) {
	t.Helper()
	if ss := r.m.find(name, kv...); len(ss) != 0 {
		t.Errorf("want no %s%v, got %v", name, kv, ss)
	}
}

// phases returns the phase labels of probe_smtp_duration_seconds (for the
// given extra labels, e.g. port), checking every duration is sane.
func phases(t testing.TB, r probeResult, kv ...string) []string {
	t.Helper()
	total := value(t, r, "probe_duration_seconds")
	var out []string
	for _, s := range r.m.find("probe_smtp_duration_seconds", kv...) {
		out = append(out, s.Labels["phase"])
		if s.Value < 0 || s.Value > total+0.05 {
			t.Errorf("%s: outside [0, probe_duration_seconds=%v]", s, total)
		}
	}
	sort.Strings(out)
	return out
}

func wantPhases(t testing.TB, r probeResult, want []string, kv ...string) {
	t.Helper()
	got := phases(t, r, kv...)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(got, ",") != strings.Join(w, ",") {
		t.Errorf("probe_smtp_duration_seconds phases%v = %v, want %v", kv, got, w)
	}
}

// wantSuccess: probe_success 1 and no failure series.
func wantSuccess(t testing.TB, r probeResult) {
	t.Helper()
	if value(t, r, "probe_success") != 1 {
		t.Fatalf("probe_success != 1\n%s", r.context())
	}
	wantAbsent(t, r, "probe_smtp_failure")
	wantAbsent(t, r, "probe_smtp_failure_reply_code")
}

// wantFailure: probe_success 0 and exactly one failure series with this phase and reason.
func wantFailure(t testing.TB, r probeResult, phase, reason string) {
	t.Helper()
	if value(t, r, "probe_success") != 0 {
		t.Fatalf("probe_success != 0\n%s", r.context())
	}
	fs := r.m.find("probe_smtp_failure")
	if len(fs) != 1 || fs[0].Labels["phase"] != phase || fs[0].Labels["reason"] != reason || fs[0].Value != 1 {
		t.Fatalf("want exactly probe_smtp_failure{phase=%q,reason=%q} 1, got %v\n%s", phase, reason, fs, r.context())
	}
}

// certChecks: the TLS metrics against the certificate run.sh generated.
func certChecks(t testing.TB, r probeResult, verified bool) {
	t.Helper()
	notAfter := float64(envInt(t, "E2E_CERT_NOT_AFTER"))
	if got := value(t, r, "probe_ssl_earliest_cert_expiry"); got != notAfter {
		t.Errorf("probe_ssl_earliest_cert_expiry = %.0f, want the generated notAfter %.0f", got, notAfter)
	}
	if verified {
		wantValue(t, r, 1, "probe_tls_certificate_verified")
		if got := value(t, r, "probe_ssl_last_chain_expiry_timestamp_seconds"); got != notAfter {
			t.Errorf("probe_ssl_last_chain_expiry_timestamp_seconds = %.0f, want %.0f", got, notAfter)
		}
	} else {
		wantValue(t, r, 0, "probe_tls_certificate_verified")
		wantAbsent(t, r, "probe_ssl_last_chain_expiry_timestamp_seconds")
	}
	// Postfix 3.7 with OpenSSL 3 and Go's client agree on TLS 1.3.
	wantValue(t, r, 1, "probe_tls_version_info", "version", "TLS 1.3")
	if c := r.m.find("probe_tls_cipher_info"); len(c) != 1 || !strings.HasPrefix(c[0].Labels["cipher"], "TLS_") || c[0].Value != 1 {
		t.Errorf("probe_tls_cipher_info = %v, want one series with a Go cipher suite name", c)
	}
	info := r.m.find("probe_ssl_last_chain_info")
	if len(info) != 1 {
		t.Errorf("want one probe_ssl_last_chain_info, got %v", info)
		return
	}
	l := info[0].Labels
	if l["fingerprint_sha256"] != env(t, "E2E_CERT_FINGERPRINT") {
		t.Errorf("fingerprint_sha256 = %q, want %q", l["fingerprint_sha256"], env(t, "E2E_CERT_FINGERPRINT"))
	}
	if l["serialnumber"] != env(t, "E2E_CERT_SERIAL") {
		t.Errorf("serialnumber = %q, want %q", l["serialnumber"], env(t, "E2E_CERT_SERIAL"))
	}
	if !strings.Contains(l["subject"], "mail.e2e.test") || !strings.Contains(l["issuer"], "smtp_exporter e2e test CA") {
		t.Errorf("subject/issuer = %q / %q", l["subject"], l["issuer"])
	}
	if !strings.Contains(l["subjectalternative"], "mail.e2e.test") {
		t.Errorf("subjectalternative = %q, want it to list mail.e2e.test", l["subjectalternative"])
	}
}

// ------------------------------------------------------------- Prometheus ---

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s promSeries) float(t testing.TB) float64 {
	t.Helper()
	str, ok := s.Value[1].(string)
	if !ok {
		t.Fatalf("bad sample value %v", s.Value)
	}
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// promQuery runs an instant query against the suite's Prometheus.
func promQuery(t testing.TB, q string) []promSeries {
	t.Helper()
	u := url.URL{Scheme: "http", Host: env(t, "E2E_PROMETHEUS"), Path: "/api/v1/query", RawQuery: url.Values{"query": {q}}.Encode()}
	status, body, _, _ := get(t, u.String(), nil)
	if status != http.StatusOK {
		t.Fatalf("query %q: HTTP %d: %s", q, status, body)
	}
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSeries `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("query %q: %v: %s", q, err, body)
	}
	if resp.Status != "success" || resp.Data.ResultType != "vector" {
		t.Fatalf("query %q: %s", q, body)
	}
	return resp.Data.Result
}

// promEventually polls a query (bounded: at most `within`, every 500ms) until
// ok accepts its result, and returns the last result.
func promEventually(t testing.TB, q string, within time.Duration, ok func([]promSeries) bool) []promSeries {
	t.Helper()
	deadline := time.Now().Add(within)
	for i := 0; ; i++ {
		res := promQuery(t, q)
		if ok(res) {
			return res
		}
		if time.Now().After(deadline) || i > 1000 {
			return res
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// --------------------------------------------------------------- maillog ---

var disconnectRE = regexp.MustCompile(`disconnect from \S+ (.*)$`)

// maillogSince returns the lines of a Postfix maillog after byte offset off.
func maillogSince(path string, off int64) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n"), nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// checkMaillog applies the rules every probe must keep towards a real
// Postfix, from its own log: never DATA/BDAT (so nothing can ever be sent),
// nothing ever queued, and no command sent before the previous reply was
// complete (Postfix logs "improper command pipelining").
func checkMaillog(lines []string) []string {
	var bad []string
	for _, l := range lines {
		if m := disconnectRE.FindStringSubmatch(l); m != nil {
			if strings.Contains(m[1], "data=") || strings.Contains(m[1], "bdat=") {
				bad = append(bad, "DATA/BDAT sent: "+l)
			}
		}
		switch {
		case strings.Contains(l, "improper command pipelining"):
			bad = append(bad, "pipelining violation: "+l)
		case strings.Contains(l, "/cleanup["):
			bad = append(bad, "a message entered the queue: "+l)
		}
	}
	return bad
}

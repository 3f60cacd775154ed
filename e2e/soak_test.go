//go:build e2e && e2e_soak

// The soak (issue 12), set up by e2e/soak.sh: healthy Postfix listeners
// behind e2e/jitterproxy (random per-chunk delays, stalls) with 2 % packet
// loss on the proxied path, probed by a soak exporter, scraped every 5 s by a
// Prometheus that evaluates dashboards/smtp_exporter.rules.yml verbatim.
// TestSoak waits the soak out, then asserts what a healthy-but-jittery fleet
// must show: no failed probe, no failed scrape, no alert pending or firing,
// every rule evaluated without error. E2E_PROMETHEUS is the soak's
// Prometheus here.
//
// What the 2-minute soak can and cannot show: the outage alerts need a
// failure at every probe for 5 minutes (and `offset 5m`), so they cannot
// fire in 2 minutes whatever happens; they are evaluated but only their
// absence of errors is proved. What it does prove is that no single probe
// failed (a failed probe is what the single-failure alerts react to:
// SmtpSubmissionFallback, SmtpCertificateInvalid… go pending at once), that
// no phase took over 5 s (SmtpHandshakeSlow), that the exporter never
// answered late or rejected a probe (SmtpExporterDown, …ProbesRejected),
// and, with a sample every 5 s, that SmtpProbeIntermittent (at least 10
// samples in its hour) saw no flapping.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// soak is what e2e/soak.sh set up.
type soak struct {
	seconds, interval time.Duration
	start             time.Time // the rules were loaded
	targets           int       // of the smtp_soak job
	ns, loss          string
	rules, proxyStats string
}

func soakSetup(t *testing.T) soak {
	t.Helper()
	return soak{
		seconds:    envSeconds(t, "E2E_SOAK_SECONDS"),
		interval:   envSeconds(t, "E2E_SOAK_INTERVAL"),
		start:      time.Unix(envInt(t, "E2E_SOAK_START"), 0),
		targets:    int(envInt(t, "E2E_SOAK_TARGETS")),
		ns:         env(t, "E2E_NS"),
		loss:       env(t, "E2E_SOAK_LOSS"),
		rules:      env(t, "E2E_SOAK_RULES"),
		proxyStats: env(t, "E2E_SOAK_PROXY_STATS"),
	}
}

// soakFigures is what the soak reports.
type soakFigures struct {
	probes      probeFigures
	evaluations int // the fewest evaluations of a rule group
	alerting    int // alerting rules loaded
	alerts      int // ALERTS series seen during the soak
	loss        []lossFigures
	proxy       proxyFigures
}

func TestSoak(t *testing.T) {
	s := soakSetup(t)
	end := s.start.Add(s.seconds)
	if wait := time.Until(end); wait > 0 {
		if wait > s.seconds+time.Minute {
			t.Fatalf("soak ends in %v, more than its %v", wait, s.seconds)
		}
		t.Logf("soaking for %v", wait.Round(time.Second))
		time.Sleep(wait)
	}
	// Every query sees the soak's samples up to its end, whatever comes after.
	at := fmt.Sprintf("[1h] @ %d", end.Unix())
	var f soakFigures
	f.probes = s.checkProbes(t, at)
	s.checkScrapes(t, at)
	f.alerts = s.checkNoAlerts(t, at)
	f.alerting, f.evaluations = s.checkRules(t)
	f.loss = s.lossCounters(t)
	f.proxy = s.readProxyStats(t)
	report := f.String(s)
	t.Log(report)
	if dir := os.Getenv("E2E_TMP"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "soak-figures.txt"), []byte(report), 0o644)
	}
}

// ---------------------------------------------------------------- probes ---

type probeFigures struct {
	count, failed, perTargetMin int
	durations                   []float64 // probe_duration_seconds, sorted
	phaseMax                    map[string]float64
	slowConnects                int // connect phases of 0.9 s or more: a retransmitted SYN
}

// checkProbes: every probe of the soak passed, every dialogue of it too
// (probe_smtp_failure never appeared, also not for one port of a passing
// submission probe), and there were as many as the soak's length allows.
func (s soak) checkProbes(t *testing.T, at string) probeFigures {
	t.Helper()
	p := probeFigures{perTargetMin: math.MaxInt, phaseMax: map[string]float64{}}
	series := promRaw(t, `probe_success{job="smtp_soak"}`+at)
	if len(series) != s.targets {
		t.Errorf("probe_success: %d series, want one for each of the %d targets", len(series), s.targets)
	}
	for _, sr := range series {
		p.count += len(sr.Values)
		p.perTargetMin = min(p.perTargetMin, len(sr.Values))
		for _, v := range sr.Values {
			if v.V != 1 {
				p.failed++
				t.Errorf("failed probe: %s at %s", labelString(sr.Metric), time.Unix(int64(v.T), 0).UTC().Format(time.TimeOnly))
			}
		}
	}
	if want := int(s.seconds/s.interval) - 2; p.perTargetMin < want {
		t.Errorf("a target was probed %d times, want at least %d in %v", p.perTargetMin, want, s.seconds)
	}
	for _, sr := range promRaw(t, `probe_smtp_failure{job="smtp_soak"}`+at) {
		t.Errorf("a dialogue failed %d times: %s", len(sr.Values), labelString(sr.Metric, "__name__"))
	}
	for _, sr := range promRaw(t, `probe_duration_seconds{job="smtp_soak"}`+at) {
		for _, v := range sr.Values {
			p.durations = append(p.durations, v.V)
		}
	}
	sort.Float64s(p.durations)
	for _, sr := range promRaw(t, `probe_smtp_duration_seconds{job="smtp_soak"}`+at) {
		for _, v := range sr.Values {
			ph := sr.Metric["phase"]
			p.phaseMax[ph] = max(p.phaseMax[ph], v.V)
			if ph == "connect" && v.V >= 0.9 {
				p.slowConnects++
			}
		}
	}
	return p
}

// checkScrapes: the exporter answered every scrape in time.
func (s soak) checkScrapes(t *testing.T, at string) {
	t.Helper()
	series := promRaw(t, `up`+at)
	if len(series) != s.targets+1 {
		t.Errorf("up: %d series, want %d (the targets and the exporter's /metrics)", len(series), s.targets+1)
	}
	for _, sr := range series {
		for _, v := range sr.Values {
			if v.V != 1 {
				t.Errorf("failed scrape: %s at %s", labelString(sr.Metric), time.Unix(int64(v.T), 0).UTC().Format(time.TimeOnly))
			}
		}
	}
}

// checkNoAlerts: no alert was pending or firing at any evaluation (ALERTS
// has a sample for each), and none is now. It returns the series seen.
func (s soak) checkNoAlerts(t *testing.T, at string) int {
	t.Helper()
	series := promRaw(t, `{__name__=~"ALERTS|ALERTS_FOR_STATE"}`+at)
	for _, sr := range series {
		t.Errorf("alert during the soak, %d evaluations from %s: %s", len(sr.Values),
			time.Unix(int64(sr.Values[0].T), 0).UTC().Format(time.TimeOnly), labelString(sr.Metric))
	}
	for _, a := range promAlerts(t) {
		t.Errorf("alert after the soak: %s", a)
	}
	return len(series)
}

// --------------------------------------------------------------- rules ---

// checkRules: Prometheus loaded the shipped rule file itself, with as many
// alerting rules as it has, every rule evaluated without error, every group
// at each interval of the soak. It returns the number of alerting rules and
// the fewest evaluations of a group.
func (s soak) checkRules(t *testing.T) (int, int) {
	t.Helper()
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			File  string `json:"file"`
			Rules []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	promGet(t, "/api/v1/rules", nil, &data)
	alerting := 0
	for _, g := range data.Groups {
		if g.File != s.rules {
			t.Errorf("rule group %s from %s, want %s", g.Name, g.File, s.rules)
		}
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				alerting++
			}
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
			}
		}
	}
	src, err := os.ReadFile(s.rules)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(string(src), "\n      - alert: "); alerting != want || want == 0 {
		t.Errorf("%d alerting rules loaded, %s has %d", alerting, s.rules, want)
	}
	return alerting, s.checkEvaluations(t, len(data.Groups))
}

// checkEvaluations reads Prometheus' own counters for the rule groups.
func (s soak) checkEvaluations(t *testing.T, groups int) int {
	t.Helper()
	_, body, _, _ := get(t, "http://"+env(t, "E2E_PROMETHEUS")+"/metrics", nil)
	m, err := parseExposition(body)
	if err != nil {
		t.Fatalf("Prometheus /metrics: %v", err)
	}
	fewest, seen := math.MaxInt, 0
	for _, smp := range m.find("prometheus_rule_group_iterations_total") {
		if strings.HasPrefix(smp.Labels["rule_group"], s.rules+";") {
			seen++
			fewest = min(fewest, int(smp.Value))
		}
	}
	if want := int(s.seconds/s.interval) - 2; seen != groups || fewest < want {
		t.Errorf("%d of %d rule groups evaluated, the fewest %d times; want each at least %d times", seen, groups, fewest, want)
	}
	for _, name := range []string{"prometheus_rule_evaluation_failures_total", "prometheus_rule_group_iterations_missed_total"} {
		for _, smp := range m.find(name) {
			if smp.Value != 0 {
				t.Errorf("%s", smp)
			}
		}
	}
	return fewest
}

// ------------------------------------------------------ loss and delays ---

type lossFigures struct {
	chain            string
	packets, dropped int64
}

// lossCounters reads the counters of the soak's iptables rules in the
// namespace: the counting rule sees every packet, the loss rule its drops.
func (s soak) lossCounters(t *testing.T) []lossFigures {
	t.Helper()
	chains := []string{"OUTPUT"}
	if s.loss == "both" {
		chains = append(chains, "INPUT")
	}
	var out []lossFigures
	for _, chain := range chains {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		b, err := exec.CommandContext(ctx, "ip", "netns", "exec", s.ns, "iptables", "-w", "5", "-L", chain, "-n", "-v", "-x").Output()
		cancel()
		if err != nil {
			t.Fatalf("iptables -L %s in %s: %v", chain, s.ns, err)
		}
		l := lossFigures{chain: chain}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			n, _ := strconv.ParseInt(f[0], 10, 64)
			switch {
			case strings.Contains(line, "smtp_exporter-e2e-soak-count"):
				l.packets = n
			case strings.Contains(line, "smtp_exporter-e2e-soak-loss"):
				l.dropped = n
			}
		}
		// 2 % of 1000 packets: no drop at all has a probability of e^-20.
		if l.packets >= 1000 && l.dropped == 0 {
			t.Errorf("iptables %s: none of %d packets dropped: the loss rule does not work", chain, l.packets)
		}
		out = append(out, l)
	}
	return out
}

// proxyFigures is e2e/jitterproxy's -stats file.
type proxyFigures struct {
	Connections       int64   `json:"connections"`
	Rejected          int64   `json:"rejected"`
	Chunks            int64   `json:"chunks"`
	Stalls            int64   `json:"stalls"`
	DelayTotalSeconds float64 `json:"delay_total_seconds"`
	DelayMaxSeconds   float64 `json:"delay_max_seconds"`
}

func (s soak) readProxyStats(t *testing.T) proxyFigures {
	t.Helper()
	b, err := os.ReadFile(s.proxyStats)
	if err != nil {
		t.Fatal(err)
	}
	var p proxyFigures
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", s.proxyStats, err)
	}
	if p.Chunks == 0 || p.Rejected != 0 {
		t.Errorf("jitterproxy: %+v: want delayed chunks and no rejected connection", p)
	}
	return p
}

// ---------------------------------------------------------------- report ---

// quantile is the nearest-rank quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return sorted[max(0, int(math.Ceil(q*float64(len(sorted))))-1)]
}

func (f soakFigures) String(s soak) string {
	var b strings.Builder
	p := f.probes
	fmt.Fprintf(&b, "soak figures: %v, a probe of each of %d targets every %v, %d alerting rules of %s evaluated verbatim (each group %d times)\n",
		s.seconds, s.targets, s.interval, f.alerting, filepath.Base(s.rules), f.evaluations)
	fmt.Fprintf(&b, "  probes: %d (at least %d a target), failed %d, success ratio %.4f\n",
		p.count, p.perTargetMin, p.failed, 1-float64(p.failed)/float64(max(1, p.count)))
	fmt.Fprintf(&b, "  probe_duration_seconds: p50 %.3f s, p99 %.3f s, max %.3f s (deadline %v minus the 0.5 s offset)\n",
		quantile(p.durations, 0.5), quantile(p.durations, 0.99), quantile(p.durations, 1), s.interval)
	phases := make([]string, 0, len(p.phaseMax))
	for ph, v := range p.phaseMax {
		phases = append(phases, fmt.Sprintf("%s %.2f s", ph, v))
	}
	sort.Strings(phases)
	fmt.Fprintf(&b, "  slowest of each phase: %s; connects of 0.9 s or more (a SYN retransmitted): %d\n", strings.Join(phases, ", "), p.slowConnects)
	for _, l := range f.loss {
		fmt.Fprintf(&b, "  packet loss, packets from the %s (iptables %s): %d of %d dropped (%.2f %%)\n",
			map[string]string{"OUTPUT": "proxy (server side)", "INPUT": "exporter"}[l.chain], l.chain, l.dropped, l.packets, 100*float64(l.dropped)/float64(max(1, l.packets)))
	}
	x := f.proxy
	fmt.Fprintf(&b, "  delays injected: %d chunks over %d connections, %.1f s in total, mean %.0f ms, max %.3f s, %d stalls\n",
		x.Chunks, x.Connections, x.DelayTotalSeconds, 1000*x.DelayTotalSeconds/float64(max(1, x.Chunks)), x.DelayMaxSeconds, x.Stalls)
	fmt.Fprintf(&b, "  alerts pending or firing during the soak: %d\n", f.alerts)
	return b.String()
}

//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dashQuery is one PromQL expression of a dashboard, as printed by
// dashboards/queries.sh --list (variables substituted).
type dashQuery struct {
	file, panel, ref, query string
}

func (q dashQuery) key() string { return q.file + " / " + q.panel + " / " + q.ref }

func repoRoot(t testing.TB) string {
	if r := os.Getenv("E2E_REPO_ROOT"); r != "" {
		return r
	}
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// dashboardQueries runs dashboards/queries.sh --list --variables on one
// dashboard file with the given variable options.
func dashboardQueries(t testing.TB, file string, opts ...string) []dashQuery {
	t.Helper()
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{filepath.Join(root, "dashboards", "queries.sh"), "--list", "--variables"}, opts...)
	args = append(args, filepath.Join(root, "dashboards", file))
	cmd := exec.CommandContext(ctx, "bash", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("queries.sh %v: %v\n%s", opts, err, stderr.String())
	}
	var qs []dashQuery
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 4)
		if len(f) != 4 {
			t.Fatalf("queries.sh --list: bad line %q", sc.Text())
		}
		qs = append(qs, dashQuery{file: f[0], panel: f[1], ref: f[2], query: f[3]})
	}
	if len(qs) == 0 {
		t.Fatalf("queries.sh printed no query for %s", file)
	}
	return qs
}

// noDataFor lists the dashboard expressions that legitimately return nothing
// in this setup (key: file / panel / refId), with the reason. An expression
// listed here that does return data fails the test: the list stays honest.
// The port-25 panels (mx prober, all_addresses, DANE, MTA-STS) have no data
// here; with issue 4's modules (the default) every other expression does.
func noDataFor(s alertSetup) map[string]string {
	const noMX = "the e2e setup scrapes no mx module (no DNS server for MX/TLSA records)"
	// Also filled by tcp/starttls/tls probes with all_addresses or dane.
	const noAll = noMX + ", nor any module with all_addresses"
	const noDANE = noMX + ", nor any module with dane"
	noData := map[string]string{
		"smtp-overview.json / Mail domains / A":                  noMX,
		"smtp-overview.json / Mail domains / B":                  noMX,
		"smtp-overview.json / Mail domains / C":                  noMX,
		"smtp-overview.json / Mail domains / D":                  noMX,
		"smtp-overview.json / Mail domains / E":                  noMX,
		"smtp-overview.json / Mail domains / F":                  noMX,
		"smtp-overview.json / Hosts probed on every address / A": noAll,
		"smtp-overview.json / Hosts probed on every address / B": noAll,
		"smtp-overview.json / Hosts probed on every address / C": noAll,
		"smtp-overview.json / MX hosts / A":                      noMX,
		"smtp-overview.json / MX hosts / B":                      noMX,
		"smtp-overview.json / MX hosts / C":                      noMX,
		"smtp-overview.json / MX hosts / D":                      noMX,
		"smtp-overview.json / MX hosts / E":                      noMX,
		"smtp-overview.json / MX hosts / F":                      noMX,
		"smtp-target.json / MX hosts down / A":                   noMX,
		"smtp-target.json / Addresses down / A":                  noAll,
		"smtp-target.json / DANE match / A":                      noDANE,
		"smtp-target.json / MTA-STS mode / A":                    noMX,
		"smtp-target.json / MTA-STS max_age / A":                 noMX,
		"smtp-target.json / MX hosts not in the policy / A":      noMX,
		"smtp-target.json / MX hosts and addresses / A":          noAll,
		"smtp-target.json / TLS versions accepted / A":           "the e2e modules do not set tls_scan",
		"smtp-target.json / Required extensions / A":             "the e2e modules do not set smtp.require_extensions",
		"smtp-target.json / TLS-RPT record / A":                  noMX,
		"smtp-target.json / TLS-RPT record / B":                  noMX,
		"smtp-target.json / MX hosts and addresses / B":          noAll,
		"smtp-target.json / MX hosts: DANE and MTA-STS / A":      noMX,
		"smtp-target.json / MX hosts: DANE and MTA-STS / B":      noMX,
		"smtp-target.json / MX hosts: DANE and MTA-STS / C":      noMX,
		"smtp-target.json / MX hosts: DANE and MTA-STS / D":      noMX,
		"smtp-target.json / MX hosts: DANE and MTA-STS / E":      noMX,
		"smtp-target.json / MX hosts: DANE and MTA-STS / F":      noMX,
		"smtp-target.json / MX hosts: DANE and MTA-STS / G":      noMX,
		"smtp-target.json / MX hosts: DANE and MTA-STS / H":      noMX,
		"smtp-target.json / MX hosts and addresses working / A":  noMX,
		"smtp-target.json / MX hosts and addresses working / B":  noMX,
		"smtp-target.json / MX hosts and addresses working / C":  noAll,
		"smtp-target.json / MX hosts and addresses working / D":  noAll,
	}
	if s.submission {
		return noData
	}
	const why = "E2E_SUBMISSION=0: no module with auth or check_auth_enforced is scraped"
	noData["smtp-target.json / Capabilities / D"] = why + " (probe_smtp_auth_success)"
	noData["smtp-target.json / Capabilities / E"] = why + " (probe_smtp_auth_enforced)"
	return noData
}

// optionalMetrics are metrics other changes of issue 12 add to the
// exporter: a dashboard expression that uses one may be empty while
// Prometheus has no series of it (this branch's exporter does not export it
// yet), and must have data once it does.
var optionalMetrics = map[string]string{
	"smtp_exporter_connections_open":          "added to the exporter by another change of issue 12",
	"probe_ssl_leaf_expiry_timestamp_seconds": "added to the exporter by another change of issue 12",
}

// missingOptional: the optional metric the query uses that has no series at
// all in Prometheus, or "".
func missingOptional(t testing.TB, query string) string {
	for m := range optionalMetrics {
		if !strings.Contains(query, m) {
			continue
		}
		if n, _, err := tryQuery(t, "count("+m+")"); err == nil && n == 0 {
			return m
		}
	}
	return ""
}

// TestDashboardQueries runs every PromQL expression of both dashboards
// (dashboards/queries.sh, variables substituted) against the suite's
// Prometheus: each must parse and return data. The overview runs with every
// variable at "All"; the per-target dashboard for four instances (the
// two-vantage submission host NS_D, the open relay, the healthy 587, the 554
// greeting), and an expression passes if it returns data for at least one.
func TestDashboardQueries(t *testing.T) {
	t.Parallel()
	s := setup(t)
	noData := noDataFor(s)
	// Wait until every target has been scraped a few times.
	ready := `(count(count_over_time(up[1h]) >= 4) == count(up)) unless (count(up == 0) > 0)`
	if r := promEventually(t, ready, 60*time.Second, func(r []promSeries) bool { return len(r) == 1 }); len(r) != 1 {
		t.Fatalf("not every target scraped 4 times and up after 60s: %s", ready)
	}

	type variant struct {
		name string
		opts []string
	}
	dashboards := []struct {
		file     string
		variants []variant
	}{
		{"smtp-overview.json", []variant{{"all", nil}}},
		{"smtp-target.json", func() []variant {
			v := []variant{{"instance=" + s.nsD, []string{"--instance", s.nsD}}}
			if s.submission {
				v = append(v, variant{"instance=" + s.relay, []string{"--instance", s.relay}})
			}
			return append(v, variant{"instance=" + s.lo587, []string{"--instance", s.lo587}},
				variant{"instance=" + s.refuse, []string{"--instance", s.refuse}})
		}()},
	}

	var report strings.Builder
	total, withData := 0, 0
	for _, d := range dashboards {
		counts := map[string][]int{} // key -> count per variant
		var order []dashQuery
		for vi, v := range d.variants {
			for _, q := range dashboardQueries(t, d.file, v.opts...) {
				k := q.key()
				if _, ok := counts[k]; !ok {
					counts[k] = make([]int, len(d.variants))
					order = append(order, q)
				}
				n, typ, err := tryQuery(t, q.query)
				if err != nil {
					t.Errorf("%s [%s]: %v\n    %s", k, v.name, err, q.query)
					n = -1
				} else if typ != "vector" {
					t.Errorf("%s [%s]: result type %s, Grafana panels here expect a vector", k, v.name, typ)
				}
				counts[k][vi] = n
			}
		}
		names := make([]string, len(d.variants))
		for i, v := range d.variants {
			names[i] = v.name
		}
		fmt.Fprintf(&report, "\n== %s (result counts: %s; each query shown as substituted for the first)\n", d.file, strings.Join(names, " | "))
		for _, q := range order {
			k := q.key()
			sum := 0
			cs := make([]string, len(counts[k]))
			for i, c := range counts[k] {
				cs[i] = fmt.Sprint(c)
				if c > 0 {
					sum += c
				}
			}
			total++
			why, listed := noData[k]
			if sum == 0 && !listed {
				if m := missingOptional(t, q.query); m != "" {
					why, listed = optionalMetrics[m]+": no "+m+" series in this Prometheus", true
					noData[k] = why
				}
			}
			switch {
			case sum > 0 && listed:
				t.Errorf("%s returns data but is listed as no-data (%s): remove it from noData", k, why)
			case sum == 0 && !listed:
				t.Errorf("%s returns no data in this setup:\n    %s", k, q.query)
			case sum > 0:
				withData++
			}
			note := ""
			if listed {
				note = "  [no data: " + why + "]"
			}
			fmt.Fprintf(&report, "%-12s %s | %s | %s%s\n    %s\n", strings.Join(cs, " | "), q.file, q.panel, q.ref, note, q.query)
		}
	}
	fmt.Fprintf(&report, "\n%d dashboard expressions, %d with data, %d listed as legitimately empty\n", total, withData, len(noData))
	fmt.Print("DASHBOARD QUERIES" + report.String())
	if dir := os.Getenv("E2E_TMP"); dir != "" {
		p := filepath.Join(dir, "dashboard-queries.txt")
		if err := os.WriteFile(p, []byte(report.String()), 0o644); err == nil {
			fmt.Printf("dashboard query report written to %s\n", p)
		}
	}
}

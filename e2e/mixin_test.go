//go:build e2e

package e2e

// Issue 12 with the real tools: the recording rule the outage alerts
// measure time on, and examples/alertmanager.yml's inhibition per MX host.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// dialogue:probe_smtp_failing:bool is 1 for a failing dialogue and 0 for a
// passing one, one series per dialogue (per port for the submission
// prober), without phase or reason.
func testFailingSeries(t *testing.T, s alertSetup) {
	cases := []struct {
		sel  string
		want float64
	}{
		{fmt.Sprintf(`{job="smtp_starttls",instance=%q,vantage="A"}`, s.nsA+":587"), 1},
		{fmt.Sprintf(`{job="smtp_starttls",instance=%q,vantage=""}`, s.lo587), 0},
		{fmt.Sprintf(`{job="smtp_submission",instance=%q,vantage="B",port="587"}`, s.nsD), 1},
		{fmt.Sprintf(`{job="smtp_submission",instance=%q,vantage="B",port="465"}`, s.nsD), 0},
	}
	for _, c := range cases {
		q := "dialogue:probe_smtp_failing:bool" + c.sel
		r := promEventually(t, q, 30*time.Second, func(r []promSeries) bool { return len(r) == 1 })
		if len(r) != 1 || r[0].float(t) != c.want {
			t.Errorf("%s = %v, want one series with %v", q, r, c.want)
			continue
		}
		if _, ok := r[0].Metric["reason"]; ok {
			t.Errorf("%s has a reason label: %v", q, r[0].Metric)
		}
		t.Logf("%s = %v", q, c.want)
	}
}

// amAlert is an alert as Alertmanager's API v2 returns it.
type amAlert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// One MX host's critical alert inhibits the warning of the same alert for
// that host, never the warning for another MX host of the domain: the
// inhibit rule's `equal` includes mx (and port, address). Alerts posted to
// Alertmanager directly, as Prometheus would.
func testInhibitionPerMXHost(t *testing.T) {
	am := "http://" + env(t, "E2E_ALERTMANAGER")
	const instance = "inhibit.e2e.test"
	now := time.Now().UTC()
	alert := func(mx, severity string) map[string]any {
		return map[string]any{
			"labels": map[string]string{"alertname": "SmtpCertificateExpiringSoon", "job": "smtp_mx", "instance": instance,
				"mx": mx, "preference": "10", "severity": severity},
			"annotations": map[string]string{"summary": "e2e inhibition test", "description": "posted by e2e/mixin_test.go",
				"runbook_url": "https://example.invalid/"},
			"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(10 * time.Minute).Format(time.RFC3339),
		}
	}
	body, _ := json.Marshal([]any{alert("mx1.e2e.test", "critical"), alert("mx1.e2e.test", "warning"), alert("mx2.e2e.test", "warning")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, am+"/api/v2/alerts", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v2/alerts: %s", resp.Status)
	}

	inhibited := map[string]bool{} // mx + severity -> inhibited
	deadline := time.Now().Add(30 * time.Second)
	for len(inhibited) < 3 || !inhibited["mx1.e2e.test warning"] {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %v (want the 3 alerts, mx1's warning inhibited)", inhibited)
		}
		time.Sleep(250 * time.Millisecond)
		inhibited = map[string]bool{}
		for _, a := range amAlerts(t, am, fmt.Sprintf(`instance=%q`, instance)) {
			inhibited[a.Labels["mx"]+" "+a.Labels["severity"]] = len(a.Status.InhibitedBy) > 0
		}
	}
	t.Logf("inhibited: %v", inhibited)
	if inhibited["mx2.e2e.test warning"] {
		t.Errorf("mx1's critical alert inhibits mx2's warning: %v", inhibited)
	}
	if inhibited["mx1.e2e.test critical"] {
		t.Errorf("the critical alert is inhibited: %v", inhibited)
	}
}

func amAlerts(t *testing.T, am, filter string) []amAlert {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, am+"/api/v2/alerts?"+url.Values{"filter": {filter}}.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []amAlert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	return alerts
}

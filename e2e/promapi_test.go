//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers for issue 5's proof: the Prometheus HTTP API beyond instant vector
// queries (alerts, rules, raw samples), and the Alertmanager webhook receiver.

// promGet calls a Prometheus API path and decodes the "data" member.
func promGet(t testing.TB, path string, q url.Values, data any) {
	t.Helper()
	u := url.URL{Scheme: "http", Host: env(t, "E2E_PROMETHEUS"), Path: path}
	if q != nil {
		u.RawQuery = q.Encode()
	}
	status, body, _, _ := get(t, u.String(), nil)
	var resp struct {
		Status    string          `json:"status"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("GET %s: HTTP %d, %v: %s", u.String(), status, err, body)
	}
	if status != http.StatusOK || resp.Status != "success" {
		t.Fatalf("GET %s: HTTP %d %s: %s", u.String(), status, resp.ErrorType, resp.Error)
	}
	if err := json.Unmarshal(resp.Data, data); err != nil {
		t.Fatalf("GET %s: decoding data: %v: %s", u.String(), err, resp.Data)
	}
}

// queryResult is any instant query's answer.
type queryResult struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// tryQuery runs an instant query and returns the number of series (1 for a
// scalar or string) or the API's error, without failing the test.
func tryQuery(t testing.TB, q string) (int, string, error) {
	t.Helper()
	u := url.URL{Scheme: "http", Host: env(t, "E2E_PROMETHEUS"), Path: "/api/v1/query", RawQuery: url.Values{"query": {q}}.Encode()}
	status, body, _, _ := get(t, u.String(), nil)
	var resp struct {
		Status string      `json:"status"`
		Error  string      `json:"error"`
		Data   queryResult `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return 0, "", fmt.Errorf("HTTP %d: %v: %s", status, err, body)
	}
	if resp.Status != "success" {
		return 0, "", fmt.Errorf("HTTP %d: %s", status, resp.Error)
	}
	switch resp.Data.ResultType {
	case "vector", "matrix":
		var r []json.RawMessage
		if err := json.Unmarshal(resp.Data.Result, &r); err != nil {
			return 0, "", err
		}
		return len(r), resp.Data.ResultType, nil
	default:
		return 1, resp.Data.ResultType, nil
	}
}

type rawSample struct {
	T float64 // Unix seconds
	V float64
}

type rangeSeries struct {
	Metric map[string]string
	Values []rawSample
}

// promRaw returns the stored samples of a range selector (e.g. `up[1h]`):
// their real timestamps, not a range query's steps.
func promRaw(t testing.TB, selector string) []rangeSeries {
	t.Helper()
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	promGet(t, "/api/v1/query", url.Values{"query": {selector}}, &data)
	if data.ResultType != "matrix" {
		t.Fatalf("%s: result type %q, want matrix", selector, data.ResultType)
	}
	out := make([]rangeSeries, 0, len(data.Result))
	for _, r := range data.Result {
		s := rangeSeries{Metric: r.Metric}
		for _, v := range r.Values {
			ts, ok1 := v[0].(float64)
			vs, ok2 := v[1].(string)
			if !ok1 || !ok2 {
				t.Fatalf("%s: bad sample %v", selector, v)
			}
			f, err := strconv.ParseFloat(vs, 64)
			if err != nil {
				t.Fatal(err)
			}
			s.Values = append(s.Values, rawSample{T: ts, V: f})
		}
		out = append(out, s)
	}
	return out
}

// firstSample is the earliest sample over all series of a range selector.
func firstSample(t testing.TB, selector string) (rawSample, bool) {
	t.Helper()
	var first rawSample
	found := false
	for _, s := range promRaw(t, selector) {
		for _, v := range s.Values {
			if !found || v.T < first.T {
				first, found = v, true
			}
		}
	}
	return first, found
}

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

func (a promAlert) String() string {
	return fmt.Sprintf("%s %s%s", a.State, a.Labels["alertname"], labelString(a.Labels, "alertname"))
}

// labelString formats labels as {k="v",...} in key order, leaving out skip.
func labelString(l map[string]string, skip ...string) string {
	keys := make([]string, 0, len(l))
outer:
	for k := range l {
		for _, s := range skip {
			if k == s {
				continue outer
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func promAlerts(t testing.TB) []promAlert {
	t.Helper()
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	promGet(t, "/api/v1/alerts", nil, &data)
	return data.Alerts
}

// hasLabels: l includes every pair of kv.
func hasLabels(l map[string]string, kv ...string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if l[kv[i]] != kv[i+1] {
			return false
		}
	}
	return true
}

// waitFiring polls /api/v1/alerts (bounded) until every want (label pairs)
// has a firing alert, and returns the last list of alerts.
func waitFiring(t testing.TB, within time.Duration, wants ...[]string) []promAlert {
	t.Helper()
	deadline := time.Now().Add(within)
	for i := 0; ; i++ {
		alerts := promAlerts(t)
		var missing []string
		for _, w := range wants {
			ok := false
			for _, a := range alerts {
				if a.State == "firing" && hasLabels(a.Labels, w...) {
					ok = true
					break
				}
			}
			if !ok {
				missing = append(missing, fmt.Sprint(w))
			}
		}
		if len(missing) == 0 {
			return alerts
		}
		if time.Now().After(deadline) || i > 1000 {
			t.Fatalf("not firing after %v: %s\nalerts now: %v", within, strings.Join(missing, "; "), alerts)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// -------------------------------------------------------- webhook receiver ---

// amNotification is Alertmanager's webhook payload (version 4).
type amNotification struct {
	Receiver    string            `json:"receiver"`
	Status      string            `json:"status"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
	} `json:"alerts"`
	Version string `json:"version"`

	path     string    // the URL path it was posted to
	received time.Time // when it arrived
}

type webhookReceiver struct {
	mu    sync.Mutex
	notes []amNotification
	err   error // listening failed
}

var webhook webhookReceiver

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(rw, "POST a webhook payload", http.StatusBadRequest)
		return
	}
	var n amNotification
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	n.path, n.received = r.URL.Path, time.Now()
	w.mu.Lock()
	w.notes = append(w.notes, n)
	w.mu.Unlock()
	rw.WriteHeader(http.StatusOK)
}

func (w *webhookReceiver) all() []amNotification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]amNotification(nil), w.notes...)
}

// startWebhook listens on E2E_WEBHOOK (the address run.sh wrote into the
// Alertmanager config) for the whole test binary: Alertmanager may notify
// before the test that reads the notifications runs. Alertmanager retries
// until it succeeds, so a late start only delays delivery.
func startWebhook() (stop func()) {
	addr := os.Getenv("E2E_WEBHOOK")
	if addr == "" {
		return func() {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		webhook.err = err
		return func() {}
	}
	srv := &http.Server{Handler: &webhook, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}

//go:build e2e

// The exporter's landing page in a real browser: the headless Chromium that
// run.sh started, driven through the DevTools protocol (a minimal WebSocket
// client below, no dependency): the page renders, the probe form submitted
// like a user would runs a probe, the recent-probes table lists it and its
// log link opens the transcript. Screenshots go to E2E_TMP.

package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ---------------------------------------------------------- WebSocket/CDP ---

type cdpConn struct {
	conn net.Conn
	br   *bufio.Reader
	next int
}

func dialCDP(wsURL string) (*cdpConn, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("websocket upgrade: %s", resp.Status)
	}
	return &cdpConn{conn: conn, br: br}, nil
}

func (c *cdpConn) Close() { _ = c.conn.Close() }

// writeText sends one masked text frame (clients must mask).
func (c *cdpConn) writeText(p []byte) error {
	var h []byte
	h = append(h, 0x81)
	switch n := len(p); {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n <= 0xffff:
		h = append(h, 0x80|126, byte(n>>8), byte(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	h = append(h, mask...)
	m := make([]byte, len(p))
	for i := range p {
		m[i] = p[i] ^ mask[i%4]
	}
	_, err := c.conn.Write(append(h, m...))
	return err
}

func (c *cdpConn) writeControl(op byte, p []byte) error {
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	f := []byte{0x80 | op, 0x80 | byte(len(p))}
	f = append(f, mask...)
	for i := range p {
		f = append(f, p[i]^mask[i%4])
	}
	_, err := c.conn.Write(f)
	return err
}

// readMessage returns the next complete text message, answering pings.
func (c *cdpConn) readMessage() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("websocket frame of %d bytes", n)
		}
		var mask []byte
		if h[1]&0x80 != 0 {
			mask = make([]byte, 4)
			if _, err := io.ReadFull(c.br, mask); err != nil {
				return nil, err
			}
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return nil, err
		}
		if mask != nil {
			for i := range p {
				p[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8:
			return nil, errors.New("websocket closed by the browser")
		case 0x9:
			if err := c.writeControl(0xA, p); err != nil {
				return nil, err
			}
			continue
		case 0xA:
			continue
		}
		msg = append(msg, p...)
		if fin {
			return msg, nil
		}
	}
}

// call sends a DevTools command (to a page session when sessionID is set) and
// waits (bounded) for its answer, skipping events.
func (c *cdpConn) call(sessionID, method string, params any, result any) error {
	c.next++
	id := c.next
	req := map[string]any{"id": id, "method": method, "params": params}
	if params == nil {
		req["params"] = map[string]any{}
	}
	if sessionID != "" {
		req["sessionId"] = sessionID
	}
	b, _ := json.Marshal(req)
	_ = c.conn.SetDeadline(time.Now().Add(20 * time.Second))
	if err := c.writeText(b); err != nil {
		return err
	}
	for i := 0; i < 100000; i++ {
		m, err := c.readMessage()
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(m, &resp); err != nil {
			return err
		}
		if resp.ID != id {
			continue // an event, or an older answer
		}
		if resp.Error != nil {
			return fmt.Errorf("%s: %d %s", method, resp.Error.Code, resp.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(resp.Result, result)
		}
		return nil
	}
	return fmt.Errorf("%s: no answer", method)
}

// page is one browser tab.
type page struct {
	t       *testing.T
	c       *cdpConn
	session string
}

func (p *page) eval(expr string, out any) {
	p.t.Helper()
	if err := p.tryEval(expr, out); err != nil {
		p.t.Fatal(err)
	}
}

// tryEval is eval that returns its error, for polling across a navigation
// (when "Inspected target navigated or closed" is expected).
func (p *page) tryEval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.c.call(p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return fmt.Errorf("evaluate %q: %w", expr, err)
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("evaluate %q: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out != nil {
		if err := json.Unmarshal(r.Result.Value, out); err != nil {
			return fmt.Errorf("evaluate %q: %w: %s", expr, err, r.Result.Value)
		}
	}
	return nil
}

// waitLoaded polls (bounded) until the document at a URL matching re has
// loaded, and returns its URL and HTTP status.
func (p *page) waitLoaded(re *regexp.Regexp) (string, int) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var st struct {
		Href   string `json:"href"`
		Ready  string `json:"ready"`
		Status int    `json:"status"`
	}
	for i := 0; ; i++ {
		err := p.tryEval(`(() => { const n = performance.getEntriesByType("navigation")[0];
			return {href: location.href, ready: document.readyState, status: n ? n.responseStatus : 0}; })()`, &st)
		if err == nil && st.Ready == "complete" && re.MatchString(st.Href) {
			return st.Href, st.Status
		}
		if time.Now().After(deadline) || i > 1000 {
			p.t.Fatalf("page did not load a URL matching %s within 15s (at %s, %s)", re, st.Href, st.Ready)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *page) navigate(u string) int {
	p.t.Helper()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.c.call(p.session, "Page.navigate", map[string]any{"url": u}, &r); err != nil {
		p.t.Fatal(err)
	}
	if r.ErrorText != "" {
		p.t.Fatalf("navigate %s: %s", u, r.ErrorText)
	}
	_, status := p.waitLoaded(regexp.MustCompile("^" + regexp.QuoteMeta(u) + "$"))
	return status
}

func (p *page) screenshot(path string) {
	p.t.Helper()
	var r struct {
		Data string `json:"data"`
	}
	if err := p.c.call(p.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		p.t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(b) < 1000 {
		p.t.Fatalf("screenshot: %v (%d bytes)", err, len(b))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s (%d bytes)", path, len(b))
	fmt.Printf("SCREENSHOT: %s\n", path)
}

func openPage(t *testing.T) *page {
	t.Helper()
	devtools := env(t, "E2E_CHROMIUM_DEVTOOLS")
	status, body, _, _ := get(t, "http://"+devtools+"/json/version", nil)
	var v struct {
		Browser string `json:"Browser"`
		WS      string `json:"webSocketDebuggerUrl"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil || v.WS == "" {
		t.Fatalf("DevTools /json/version: %d %s", status, body)
	}
	c, err := dialCDP(v.WS)
	if err != nil {
		t.Fatalf("DevTools websocket %s: %v", v.WS, err)
	}
	t.Cleanup(c.Close)
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.call("", "Target.closeTarget", map[string]any{"targetId": target.TargetID}, nil) })
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, c: c, session: att.SessionID}
	if err := c.call(p.session, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("browser %s", v.Browser)
	return p
}

// ----------------------------------------------------------------- the test ---

type probeRow struct {
	Text  string   `json:"text"`
	Cells []string `json:"cells"`
	Logs  []string `json:"logs"`
}

func TestLandingPageInBrowser(t *testing.T) {
	t.Parallel()
	base := "http://" + env(t, "E2E_EXPORTER") + "/"
	refused := env(t, "E2E_NS_A") + ":2525"
	// Some probes first: one failure for the table (the form's probe is the success).
	probe(t, refused, "starttls")

	p := openPage(t)
	dir := env(t, "E2E_TMP")
	if status := p.navigate(base); status != http.StatusOK {
		t.Fatalf("GET %s in the browser: HTTP %d", base, status)
	}
	var form struct {
		Found   bool     `json:"found"`
		Action  string   `json:"action"`
		Method  string   `json:"method"`
		Target  bool     `json:"target"`
		Modules []string `json:"modules"`
		Title   string   `json:"title"`
	}
	p.eval(`(() => { const f = document.getElementById("probe-form"), m = document.getElementById("module");
		return {found: !!f, action: f ? f.action : "", method: f ? f.method : "", title: document.title,
			target: !!document.getElementById("target"),
			modules: m ? Array.from(m.options || []).map(o => o.value) : []}; })()`, &form)
	t.Logf("landing page %q: form %+v", form.Title, form)
	if !form.Found || !form.Target || len(form.Modules) == 0 {
		t.Fatalf("landing page lacks the probe form (id probe-form with #target and #module): %+v", form)
	}
	hasModule := false
	for _, m := range form.Modules {
		hasModule = hasModule || m == "starttls"
	}
	if !hasModule {
		t.Fatalf("module select lacks starttls: %v", form.Modules)
	}

	// Submit the form as a user would: fill it in, click its submit button.
	// The target is one nothing else probes (Prometheus scrapes 587, not
	// 2525 with this module), so its row is the form's probe.
	target := env(t, "E2E_LO_ALT")
	p.eval(fmt.Sprintf(`(() => { const f = document.getElementById("probe-form");
		document.getElementById("target").value = %q; document.getElementById("module").value = "starttls";
		const b = f.querySelector('button[type=submit], input[type=submit], button:not([type])');
		if (b) { b.click(); } else { f.requestSubmit(); } return true; })()`, target), nil)
	href, status := p.waitLoaded(regexp.MustCompile(`/probe\?`))
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusOK || u.Query().Get("target") != target || u.Query().Get("module") != "starttls" {
		t.Fatalf("the form led to %s (HTTP %d), want /probe with target=%s module=starttls", href, status, target)
	}
	var result string
	p.eval(`document.body.innerText`, &result)
	if !strings.Contains(result, "probe_success 1") {
		t.Fatalf("the form's probe (%s) did not succeed:\n%s", href, result)
	}
	t.Logf("form submitted: %s -> HTTP %d, %d bytes, probe_success 1", href, status, len(result))
	p.screenshot(filepath.Join(dir, "probe-result.png"))

	// Back to the landing page: the probe is in the recent-probes table.
	p.navigate(base)
	var rows []probeRow
	rowsJS := `Array.from(document.querySelectorAll("#recent-probes tbody tr, #recent-probes tr")).filter(tr => tr.querySelector("td"))
		.map(tr => ({text: tr.innerText, cells: Array.from(tr.cells).map(c => c.innerText.trim()),
			logs: Array.from(tr.querySelectorAll('a[href*="logs?id="]')).map(a => a.href)}))`
	p.eval(rowsJS, &rows)
	if len(rows) == 0 {
		var html string
		p.eval(`document.documentElement.outerHTML`, &html)
		t.Fatalf("no rows in table#recent-probes:\n%s", html)
	}
	find := func(target, module string) *probeRow {
		for i, r := range rows {
			hasT, hasM := false, false
			for _, c := range r.Cells {
				hasT = hasT || strings.Contains(c, target)
				hasM = hasM || c == module || strings.Contains(c, module+" ")
			}
			if hasT && hasM {
				return &rows[i]
			}
		}
		return nil
	}
	ok := find(target, "starttls")
	if ok == nil {
		t.Fatalf("the form's probe (%s, starttls) is not in the recent-probes table (%d rows)", target, len(rows))
	}
	t.Logf("row of the form's probe: %q", ok.Cells)
	if regexp.MustCompile(`(?i)\bfail`).MatchString(ok.Text) || !regexp.MustCompile(`(?i)\b(success|ok)\b`).MatchString(ok.Text) {
		t.Errorf("the form's probe row does not show success: %q", ok.Text)
	}
	bad := find(refused, "starttls")
	if bad == nil {
		t.Errorf("the refused probe (%s) is not in the table", refused)
	} else {
		t.Logf("row of the refused probe: %q", bad.Cells)
		if !regexp.MustCompile(`(?i)fail`).MatchString(bad.Text) || !strings.Contains(bad.Text, "refused") {
			t.Errorf("the refused probe's row does not show the failure and its reason: %q", bad.Text)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "landing.html"), []byte(mustOuterHTML(p)), 0o644); err != nil {
		t.Error(err)
	}
	p.screenshot(filepath.Join(dir, "landing.png"))

	// Follow the row's log link (a click, as a user would).
	if len(ok.Logs) != 1 || !regexp.MustCompile(`/logs\?id=\d+$`).MatchString(ok.Logs[0]) {
		t.Fatalf("the row links to %v, want one logs?id=N", ok.Logs)
	}
	p.eval(fmt.Sprintf(`(() => { const a = Array.from(document.querySelectorAll('#recent-probes a')).find(a => a.href === %q);
		a.click(); return true; })()`, ok.Logs[0]), nil)
	href, status = p.waitLoaded(regexp.MustCompile("^" + regexp.QuoteMeta(ok.Logs[0]) + "$"))
	var transcript string
	p.eval(`document.body.innerText`, &transcript)
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP %d", href, status)
	}
	for _, w := range []string{"S: 220 ", "C: EHLO probe.e2e.test", "C: STARTTLS", "C: QUIT", target} {
		if !strings.Contains(transcript, w) {
			t.Errorf("%s lacks %q:\n%s", href, w, transcript)
		}
	}
	t.Logf("%s (HTTP %d): transcript of %d lines", href, status, strings.Count(transcript, "\n"))
	p.screenshot(filepath.Join(dir, "probe-log.png"))

	// The failed probe's log opens too.
	if bad != nil && len(bad.Logs) == 1 {
		if st := p.navigate(bad.Logs[0]); st != http.StatusOK {
			t.Errorf("%s: HTTP %d", bad.Logs[0], st)
		}
		var l string
		p.eval(`document.body.innerText`, &l)
		if !strings.Contains(l, refused) {
			t.Errorf("%s does not mention %s:\n%s", bad.Logs[0], refused, l)
		}
	}
}

func mustOuterHTML(p *page) string {
	var html string
	p.eval(`document.documentElement.outerHTML`, &html)
	return html
}

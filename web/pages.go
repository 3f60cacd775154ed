package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/version"
)

// Pages serves the landing page, /logs and /config.
type Pages struct {
	Handler *Handler
}

var landingTemplate = template.Must(template.New("landing").Funcs(template.FuncMap{
	"ms": func(d time.Duration) string {
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	},
	"ts": func(t time.Time) string { return t.Format("15:04:05") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>SMTP Exporter</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { margin-bottom: 0.2em; }
.sub { color: #666; margin-top: 0; }
form { background: #f4f6f8; padding: 0.8em 1em; border-radius: 6px; display: inline-block; }
input, select, button { font-size: 1em; margin-right: 0.5em; }
table { border-collapse: collapse; margin-top: 1em; width: 100%; }
th, td { text-align: left; padding: 0.3em 0.6em; border-bottom: 1px solid #ddd; vertical-align: top; }
td.time, td.target, td.dur { white-space: nowrap; }
.summary span { margin-right: 1.2em; }
th { background: #f4f6f8; }
.ok { color: #19703a; font-weight: 600; }
.fail { color: #b3261e; font-weight: 600; }
.phases { color: #555; font-size: 0.9em; }
</style>
</head>
<body>
<h1>SMTP Exporter</h1>
<p class="sub">Is your SMTP port really working? Version {{.Version}}</p>
<p><a href="metrics">Metrics</a> · <a href="config">Configuration</a> · <a href="-/healthy">Health</a></p>
<h2>Probe</h2>
<form id="probe-form" action="probe" method="get">
<label>Target <input id="target" name="target" placeholder="smtp.example.com:587" required></label>
<label>Module <select id="module" name="module">
<option value="">(by port)</option>
{{range .Modules}}<option value="{{.}}">{{.}}</option>{{end}}
</select></label>
<label><input type="checkbox" name="debug" value="true" checked> debug</label>
<button type="submit">Probe</button>
</form>
<h2>Recent probes</h2>
{{if .Probes}}
<p class="summary" id="summary"><span class="ok">{{.Succeeded}} succeeded</span><span class="fail">{{.Failed}} failed</span><span>failed probes are kept after newer ones push them out</span></p>
<table id="recent-probes">
<thead><tr><th>Time</th><th>Module</th><th>Target</th><th>Result</th><th>Duration</th><th>Phases</th><th>Log</th></tr></thead>
<tbody>
{{range .Probes}}<tr class="{{if .Success}}probe-ok{{else}}probe-fail{{end}}">
<td class="time" title="{{.Time.Format "2006-01-02 15:04:05 MST"}}">{{ts .Time}}</td><td>{{.Module}}</td><td class="target">{{.Target}}</td>
<td>{{if .Success}}<span class="ok">success</span>{{else}}<span class="fail">failed</span> {{.Failure}}{{end}}</td>
<td class="dur">{{ms .Duration}}</td><td class="phases">{{range $i, $l := .Phases}}{{if $i}}<br>{{end}}{{$l}}{{end}}</td>
<td><a href="logs?id={{.ID}}">log</a></td>
</tr>{{end}}
</tbody>
</table>
{{else}}<p>No probes yet.</p>{{end}}
</body>
</html>
`))

// Landing is the page at /.
func (p *Pages) Landing(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	probes := p.Handler.History.List()
	failed := 0
	for _, pr := range probes {
		if !pr.Success {
			failed++
		}
	}
	v := version.Version
	if v == "" {
		v = "unknown (built without version information)"
	}
	data := struct {
		Version           string
		Modules           []string
		Probes            []*Probe
		Succeeded, Failed int
	}{v, p.Handler.Config.Get().ModuleNames(), probes, len(probes) - failed, failed}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := landingTemplate.Execute(w, data); err != nil {
		p.Handler.Runner.Logger.Error("rendering landing page", "err", err)
	}
}

// Logs is /logs?id=N: one kept probe's transcript.
func (p *Pages) Logs(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	if err != nil {
		http.Error(w, "id parameter must be a probe number", http.StatusBadRequest)
		return
	}
	pr := p.Handler.History.Get(id)
	if pr == nil {
		http.Error(w, "probe not found (it may have aged out of the history)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff") // the transcript is text the server chose
	result := "success"
	if !pr.Success {
		result = "failed " + pr.Failure
	}
	fmt.Fprintf(w, "Probe %d of %s with module %s at %s: %s in %s\n\n", pr.ID, pr.Target, pr.Module,
		pr.Time.Format(time.RFC3339), result, pr.Duration.Round(100*time.Microsecond))
	_, _ = w.Write([]byte(pr.Log()))
}

// Config is /config: the config in force, secrets as <secret>.
func (p *Pages) Config(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(p.Handler.Config.Get().YAML())
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
	"github.com/smtp-exporter/smtp_exporter/runner"
)

// checkFlags are the flags of `smtp_exporter check`.
type checkFlags struct {
	target string
	module string
	port   int
	output string
	debug  bool
	// What a module file would say, for a server with an internal CA or
	// credentials, without writing one. Secrets come from files or the
	// environment, never the command line.
	caFile, serverName                  string
	insecure                            bool
	username, passwordFile, passwordEnv string
}

func addCheckCommand(app *kingpin.Application, f *checkFlags) *kingpin.CmdClause {
	c := app.Command("check", "Probe a host once from the terminal and print a readable report. Exit status 0 when the probe succeeds.")
	c.Arg("target", "HOST (the submission picture) or HOST:PORT.").Required().StringVar(&f.target)
	c.Flag("module", "Module to use (default: by port, submission for a bare host).").StringVar(&f.module)
	c.Flag("port", "Probe this one port (465 with implicit TLS, others with STARTTLS).").IntVar(&f.port)
	c.Flag("output", "Report format: text or json.").Default("text").EnumVar(&f.output, "text", "json")
	c.Flag("debug", "Print the SMTP transcript too.").BoolVar(&f.debug)
	c.Flag("tls.ca-file", "CA bundle to verify the certificate against (the module's tls_config.ca_file).").StringVar(&f.caFile)
	c.Flag("tls.server-name", "Name the certificate must match, also sent as SNI (tls_config.server_name).").StringVar(&f.serverName)
	c.Flag("tls.insecure-skip-verify", "Report a certificate that does not verify without failing (tls_config.insecure_skip_verify).").BoolVar(&f.insecure)
	c.Flag("auth.username", "Log in after TLS as this user (smtp.auth.username); the password from --auth.password-file or --auth.password-env.").StringVar(&f.username)
	c.Flag("auth.password-file", "File holding the AUTH password (smtp.auth.password_file).").StringVar(&f.passwordFile)
	c.Flag("auth.password-env", "Environment variable holding the AUTH password (smtp.auth.password_env).").StringVar(&f.passwordEnv)
	return c
}

// overrideModule applies the --tls.* and --auth.* flags to the module
// `check` runs, and checks the result as a config load would.
func (f checkFlags) overrideModule(m config.Module) (config.Module, error) {
	if f.caFile == "" && f.serverName == "" && !f.insecure && f.username == "" && f.passwordFile == "" && f.passwordEnv == "" {
		return m, nil
	}
	if f.caFile != "" {
		m.TLSConfig.CAFile = f.caFile
	}
	if f.serverName != "" {
		m.TLSConfig.ServerName = f.serverName
	}
	m.TLSConfig.InsecureSkipVerify = m.TLSConfig.InsecureSkipVerify || f.insecure
	if f.username != "" || f.passwordFile != "" || f.passwordEnv != "" {
		m.SMTP.Auth = &config.Auth{Username: f.username, PasswordFile: f.passwordFile, PasswordEnv: f.passwordEnv}
	}
	return m.Revalidated()
}

func runCheck(f flags, logger *slog.Logger) int {
	sc := config.NewSafeConfig(f.configFile, nil)
	if err := sc.Reload(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot load config:", err)
		return 2
	}
	target := f.check.target
	if f.check.port != 0 {
		t, err := prober.ParseTarget(target)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		target = prober.Target{Host: t.Host, Port: f.check.port}.String()
	}
	req, err := runner.Resolve(sc.Get(), target, f.check.module)
	if err == nil {
		req.Module, err = f.check.overrideModule(req.Module)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r := &runner.Runner{Logger: logger, ProberLevel: slog.LevelDebug, TranscriptMaxBytes: f.transcriptMaxBytes}
	out := r.Run(context.Background(), req, time.Duration(req.Module.Timeout))
	res := out.Result

	rep := newCheckReport(req, res, out.Took, time.Now())
	if f.check.debug {
		rep.Transcript = out.Transcript.String()
	}
	if f.check.output == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.writeText(os.Stdout)
	}
	if !res.Success() {
		return 1
	}
	return 0
}

// checkReport is what `check` prints, as text or JSON.
type checkReport struct {
	Target     string       `json:"target"`
	Module     string       `json:"module"`
	Prober     string       `json:"prober"`
	Success    bool         `json:"success"`
	Duration   float64      `json:"duration_seconds"`
	Ports      []portReport `json:"ports"`
	Chosen     int          `json:"submission_port,omitempty"`
	Verdict    string       `json:"verdict"`
	Transcript string       `json:"transcript,omitempty"`

	// TLSRPT is the domain's TLS-RPT record, with mx.tls_rpt.
	TLSRPT *tlsrptReport `json:"tls_rpt,omitempty"`
}

type portReport struct {
	Host          string             `json:"host,omitempty"` // the MX host and/or address (mx, all_addresses)
	Port          int                `json:"port"`
	Mode          string             `json:"mode"`
	Works         bool               `json:"works"`
	Phase         string             `json:"failed_phase,omitempty"`
	Reason        string             `json:"failure_reason,omitempty"`
	ReplyCode     int                `json:"failure_reply_code,omitempty"`
	Explanation   string             `json:"explanation"`
	Error         string             `json:"error,omitempty"`
	GreetingCode  int                `json:"greeting_code,omitempty"`
	Phases        map[string]float64 `json:"phase_seconds"`
	TLSVersion    string             `json:"tls_version,omitempty"`
	Cipher        string             `json:"tls_cipher,omitempty"`
	CertVerified  *bool              `json:"cert_verified,omitempty"`
	CertDaysLeft  *float64           `json:"cert_days_left,omitempty"`
	StartTLS      *bool              `json:"starttls_advertised,omitempty"`
	Auth          *bool              `json:"auth_advertised,omitempty"`
	AuthBeforeTLS *bool              `json:"auth_before_tls,omitempty"`
	AuthSuccess   *bool              `json:"auth_success,omitempty"`
	AuthEnforced  *bool              `json:"auth_enforced,omitempty"`
	SizeLimit     *int64             `json:"size_limit_bytes,omitempty"`
	DANEMatch     *bool              `json:"dane_match,omitempty"`
	MTASTSMatch   *bool              `json:"mta_sts_mx_match,omitempty"`
	Source        string             `json:"source_address,omitempty"`
	Extensions    map[string]bool    `json:"extensions_advertised,omitempty"`
	TLSVersions   map[string]bool    `json:"tls_versions_accepted,omitempty"`
	phaseOrder    []string
}

func newCheckReport(req runner.Request, res *prober.Result, took time.Duration, now time.Time) checkReport {
	r := checkReport{Target: req.Target.String(), Module: req.ModuleName, Prober: req.Module.Prober,
		Success: res.Success(), Duration: took.Seconds()}
	res.Walk(func(n prober.Node) {
		if row, ok := dialogueRow(req, res, n, now); ok {
			r.Ports = append(r.Ports, row)
		}
	})
	r.Chosen = res.SubmissionPort
	if res.MX != nil && res.MX.TLSRPT != nil {
		r.TLSRPT = &tlsrptReport{Published: res.MX.TLSRPT.Published(), RUA: res.MX.TLSRPT.RUA}
	}
	r.Verdict = verdict(r, req, res)
	return r
}

// dialogueRow is the report's row for a node of the probe's tree: each
// dialogue, and a host whose failure kept it from having any (an MX host
// that does not resolve). Summaries (the submission picture, the domain)
// speak in the verdict instead.
func dialogueRow(req runner.Request, res *prober.Result, n prober.Node, now time.Time) (portReport, bool) {
	d := n.Result
	if d.Nested() && (d.Failure == nil || len(n.Path) == 0) {
		return portReport{}, false
	}
	kind, _ := config.KindOf(req.Module.Prober)
	port, transport := req.Target.Port, kind.Transport
	if kind.Shape == config.Domain {
		port = req.Module.MX.Port
	}
	host := strings.Join(n.Path, " ")
	if kind.Shape == config.Host { // the path is the port
		host = ""
		for _, p := range req.Module.Submission.Ports {
			if strconv.Itoa(p.Port) == n.Path[0] {
				k, _ := config.KindOf(p.Prober)
				port, transport = p.Port, k.Transport
			}
		}
	}
	row := newPortReport(port, transport, d, now)
	row.Host = host
	if d.DANE != nil {
		row.DANEMatch = d.DANE.Match
	}
	if res.MX != nil && len(n.Path) > 0 {
		for _, h := range res.MX.Hosts {
			if h.Name == n.Path[0] {
				row.MTASTSMatch = h.PolicyMatch
			}
		}
	}
	return row, true
}

// verdict is the report's last line: what an SRE should take from it.
func verdict(r checkReport, req runner.Request, res *prober.Result) string {
	kind, _ := config.KindOf(req.Module.Prober)
	switch {
	case kind.Shape == config.Host:
		return submissionVerdict(r.Ports, res.SubmissionPort)
	case res.Nested():
		return nestedVerdict(res)
	case res.Success():
		return fmt.Sprintf("port %d works (%s).", req.Target.Port, kind.Transport)
	}
	return fmt.Sprintf("port %d does not work: %s.", req.Target.Port, r.Ports[0].Explanation)
}

func submissionVerdict(ports []portReport, chosen int) string {
	if chosen == 0 {
		return "no submission port works: applications cannot send mail through this host from here."
	}
	var mode string
	for _, p := range ports {
		if p.Port == chosen {
			mode = p.Mode
		}
	}
	if chosen == ports[0].Port {
		return fmt.Sprintf("use port %d with %s.", chosen, mode)
	}
	return fmt.Sprintf("use port %d with %s: port %d does not work (%s).", chosen, mode, ports[0].Port, ports[0].Explanation)
}

// nestedVerdict sums up an all_addresses or mx probe: how many of its
// addresses or MX hosts work, the domain's own failure and MTA-STS policy.
func nestedVerdict(res *prober.Result) string {
	v, what := "", "addresses"
	if res.MX != nil {
		what = "MX hosts"
		if p := res.MX.MTASTS; p != nil {
			v = fmt.Sprintf("MTA-STS policy %s (max_age %ds). ", p.Mode, p.MaxAge)
		}
		v += tlsrptVerdict(res.MX.TLSRPT)
	}
	working, total := res.Working(), len(res.Children())
	switch f := res.Failure; {
	case f != nil:
		return v + fmt.Sprintf("%s; %d of %d %s work.", explain(f), working, total, what)
	case res.Success():
		return v + fmt.Sprintf("all %d %s work.", total, what)
	}
	return v + fmt.Sprintf("%d of %d %s work.", working, total, what)
}

func newPortReport(port int, transport config.Transport, res *prober.Result, now time.Time) portReport {
	p := portReport{Port: port, Mode: transport.String(), Works: res.Success(), GreetingCode: res.GreetingCode,
		Phases: map[string]float64{}, StartTLS: res.StartTLSAdvertised, Auth: res.AuthAdvertised,
		AuthBeforeTLS: res.AuthBeforeTLS, AuthSuccess: res.AuthSuccess, AuthEnforced: res.AuthEnforced, SizeLimit: res.SizeLimit}
	for _, t := range res.Timings {
		if _, seen := p.Phases[string(t.Phase)]; !seen {
			p.phaseOrder = append(p.phaseOrder, string(t.Phase))
		}
		p.Phases[string(t.Phase)] += t.Duration.Seconds()
	}
	if t := res.TLS; t != nil {
		p.TLSVersion, p.Cipher = t.Version, t.Cipher
		p.CertVerified = &t.Verified
		if !t.EarliestExpiry.IsZero() {
			days := t.EarliestExpiry.Sub(now).Hours() / 24
			p.CertDaysLeft = &days
		}
	}
	p.addPosture(res)
	p.Explanation = "works"
	if f := res.Failure; f != nil {
		p.Phase, p.Reason, p.ReplyCode = string(f.Phase), string(f.Reason), f.Code
		p.Explanation = explain(f)
		if f.Err != nil {
			p.Error = prober.EscapeText(f.Err.Error()) // may quote the server: a reply, a certificate's names
		}
	}
	return p
}

// plainText drops the README's Markdown from an explanation for the terminal.
var plainText = strings.NewReplacer("`", "", "**", "")

// explain says in words what a failure most likely means for an SRE, with
// where it happened and the reply code that decided it.
func explain(f *prober.Failure) string {
	if errors.Is(f.Err, prober.ErrNoConnSlot) {
		return fmt.Sprintf("%s/%s: no free connection slot before the deadline: the exporter holds --probe.max-connections connections already", f.Phase, f.Reason)
	}
	s := fmt.Sprintf("%s/%s: %s", f.Phase, f.Reason, plainText.Replace(f.Reason.Explanation()))
	if f.Code != 0 {
		s += " (reply " + strconv.Itoa(f.Code) + ")"
	}
	return s
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	}
	return "no"
}

func (r checkReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "smtp_exporter check %s (module %s, prober %s) took %.0f ms\n\n", r.Target, r.Module, r.Prober, r.Duration*1000)
	for _, p := range r.Ports {
		status := "OK"
		if !p.Works {
			status = "FAILED at " + p.Phase + ": " + p.Reason
		}
		if p.Host != "" {
			fmt.Fprintf(w, "%s ", p.Host)
		}
		fmt.Fprintf(w, "port %-5d %-13s %s\n", p.Port, p.Mode, status)
		if !p.Works {
			fmt.Fprintf(w, "  why:        %s\n", p.Explanation)
			if p.Error != "" {
				fmt.Fprintf(w, "  error:      %s\n", p.Error)
			}
		}
		if p.GreetingCode != 0 {
			fmt.Fprintf(w, "  greeting:   %d\n", p.GreetingCode)
		}
		var phases []string
		for _, ph := range p.phaseOrder {
			phases = append(phases, fmt.Sprintf("%s %.1fms", ph, p.Phases[ph]*1000))
		}
		if len(phases) > 0 {
			fmt.Fprintf(w, "  phases:     %s\n", strings.Join(phases, " · "))
		}
		p.writeTLS(w)
		var findings []string
		for _, f := range []struct {
			name string
			v    *bool
		}{{"starttls offered", p.StartTLS}, {"auth offered", p.Auth}, {"auth before tls", p.AuthBeforeTLS}, {"auth ok", p.AuthSuccess}, {"auth enforced", p.AuthEnforced}, {"dane match", p.DANEMatch}, {"mta-sts names it", p.MTASTSMatch}} {
			if f.v != nil {
				findings = append(findings, f.name+": "+yesNo(f.v))
			}
		}
		if len(findings) > 0 {
			fmt.Fprintf(w, "  smtp:       %s\n", strings.Join(findings, " · "))
		}
		if p.SizeLimit != nil {
			fmt.Fprintf(w, "  size limit: %d bytes\n", *p.SizeLimit)
		}
		p.writePosture(w)
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Verdict: %s\n", r.Verdict)
	if r.Transcript != "" {
		fmt.Fprintf(w, "\nTranscript:\n%s", r.Transcript)
	}
}

// tlsrptReport is the domain's TLS-RPT record (mx.tls_rpt).
type tlsrptReport struct {
	Published bool     `json:"record"`
	RUA       []string `json:"rua,omitempty"`
}

// tlsrptVerdict says in words what the TLS-RPT record means for reports.
func tlsrptVerdict(t *prober.TLSRPT) string {
	switch {
	case t == nil:
		return ""
	case t.Records == 0:
		return "No TLS-RPT record: senders cannot report TLS failures. "
	case !t.Published():
		return fmt.Sprintf("%d TLS-RPT records: senders use none. ", t.Records)
	case len(t.RUA) == 0:
		return "TLS-RPT record names no mailto: or https: rua: reports go nowhere. "
	}
	return "TLS-RPT reports go to " + strings.Join(t.RUA, ", ") + ". "
}

// addPosture fills what source_ip_address, smtp.require_extensions and tls_scan found.
func (p *portReport) addPosture(res *prober.Result) {
	if res.Source.IsValid() {
		p.Source = res.Source.String()
	}
	for _, x := range res.Extensions {
		if p.Extensions == nil {
			p.Extensions = map[string]bool{}
		}
		p.Extensions[x.Name] = x.Advertised
	}
	for _, v := range res.TLSVersions {
		if p.TLSVersions == nil {
			p.TLSVersions = map[string]bool{}
		}
		p.TLSVersions[v.Version] = v.Accepted
	}
}

// writeTLS writes the handshake's version, cipher and certificate, and the TLS scan.
func (p portReport) writeTLS(w io.Writer) {
	if p.TLSVersion != "" {
		fmt.Fprintf(w, "  tls:        %s, %s\n", p.TLSVersion, p.Cipher)
		cert := "verifies"
		if p.CertVerified != nil && !*p.CertVerified {
			cert = "does NOT verify"
		}
		if p.CertDaysLeft != nil {
			cert += fmt.Sprintf(", %.0f days left", *p.CertDaysLeft)
		}
		fmt.Fprintf(w, "  cert:       %s\n", cert)
	}
	if len(p.TLSVersions) > 0 {
		fmt.Fprintf(w, "  tls scan:   %s\n", yesNoList(p.TLSVersions, " accepted"))
	}
}

// writePosture writes the source address and the required extensions.
func (p portReport) writePosture(w io.Writer) {
	if p.Source != "" {
		fmt.Fprintf(w, "  source:     %s\n", p.Source)
	}
	if len(p.Extensions) > 0 {
		fmt.Fprintf(w, "  extensions: %s\n", yesNoList(p.Extensions, ""))
	}
}

// yesNoList writes "A: yes · B: no", sorted by name.
func yesNoList(m map[string]bool, suffix string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		out = append(out, k+suffix+": "+yesNo(&v))
	}
	return strings.Join(out, " · ")
}

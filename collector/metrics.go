// Package collector turns probe Results into metrics and serves the HTTP
// side: /probe, the landing page, probe logs and the config.
package collector

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// phaseOrder is the order phases are reported in.
var phaseOrder = []prober.Phase{
	prober.PhaseResolve, prober.PhaseConnect, prober.PhaseGreeting, prober.PhaseEHLO, prober.PhaseStartTLS,
	prober.PhaseTLS, prober.PhaseAuth, prober.PhaseMail, prober.PhaseQuit,
}

// probeMetrics is every probe_* metric of the contract, in this one file.
// It is an unchecked collector: a fresh registry per probe serves it once.
type probeMetrics struct {
	res             *prober.Result
	durationSeconds float64
}

func (probeMetrics) Describe(chan<- *prometheus.Desc) {}

func (p probeMetrics) Collect(ch chan<- prometheus.Metric) {
	e := emitter{ch: ch}
	e.gauge("probe_success", "1 if every step of the module passed.", b2f(p.res.Success()))
	e.gauge("probe_duration_seconds", "How long the whole probe took.", p.durationSeconds)
	if p.res.Ports == nil {
		collectDialogue(e, p.res)
		return
	}
	e.gauge("probe_smtp_submission_port", "The port the submission decision rule picks (587 → 465 → 2525), 0 if none works.", float64(p.res.SubmissionPort))
	for _, pr := range p.res.Ports {
		collectDialogue(emitter{ch: ch, labels: prometheus.Labels{"port": strconv.Itoa(pr.Port)}}, pr.Result)
	}
}

// collectDialogue reports one dialogue; for the submission prober e carries the port label.
func collectDialogue(e emitter, r *prober.Result) {
	if d, ok := r.Duration(prober.PhaseResolve); ok {
		e.gauge("probe_dns_lookup_time_seconds", "How long name resolution took (blackbox's name, kept for compatibility).", d.Seconds())
	}
	if r.IPProtocol != 0 {
		e.gauge("probe_ip_protocol", "IP protocol of the address probed: 4 or 6.", float64(r.IPProtocol))
	}
	e.gauge("probe_smtp_reachable", "1 if the TCP connection was established.", b2f(r.Reachable))
	for _, ph := range phaseOrder {
		if d, ok := r.Duration(ph); ok {
			e.gauge("probe_smtp_duration_seconds", "Duration of each phase of the SMTP dialogue that ran.", d.Seconds(), "phase", string(ph))
		}
	}
	if r.GreetingCode != 0 {
		e.gauge("probe_smtp_greeting_code", "Reply code of the server's greeting.", float64(r.GreetingCode))
	}
	e.flag("probe_smtp_starttls_advertised", "1 if the plaintext EHLO advertised STARTTLS.", r.StartTLSAdvertised)
	e.flag("probe_smtp_auth_advertised", "1 if the EHLO that counts (after TLS where TLS is used) advertised AUTH.", r.AuthAdvertised)
	e.flag("probe_smtp_auth_before_tls", "1 if AUTH was offered on the plaintext EHLO of a STARTTLS dialogue.", r.AuthBeforeTLS)
	e.flag("probe_smtp_auth_success", "1 if AUTH with the module's credentials succeeded.", r.AuthSuccess)
	e.flag("probe_smtp_auth_enforced", "1 if the server refused MAIL or RCPT without AUTH (RFC 6409).", r.AuthEnforced)
	if r.SizeLimit != nil {
		e.gauge("probe_smtp_size_limit_bytes", "Message size limit from the SIZE extension (0: no fixed limit).", float64(*r.SizeLimit))
	}
	if f := r.Failure; f != nil {
		e.gauge("probe_smtp_failure", "Why the probe failed: present only on failure, one series.", 1, "phase", string(f.Phase), "reason", string(f.Reason))
		if f.Code != 0 {
			e.gauge("probe_smtp_failure_reply_code", "SMTP reply code that decided the failure.", float64(f.Code))
		}
	}
	if t := r.TLS; t != nil {
		e.gauge("probe_tls_version_info", "TLS version negotiated.", 1, "version", t.Version)
		e.gauge("probe_tls_cipher_info", "TLS cipher suite negotiated.", 1, "cipher", t.Cipher)
		e.gauge("probe_tls_certificate_verified", "1 if the chain and host name verify against the configured roots.", b2f(t.Verified))
		if !t.EarliestExpiry.IsZero() {
			e.gauge("probe_ssl_earliest_cert_expiry", "Unix time of the earliest expiry among the presented certificates.", float64(t.EarliestExpiry.Unix()))
			e.gauge("probe_ssl_last_chain_info", "The server's leaf certificate.", 1,
				"fingerprint_sha256", t.Leaf.FingerprintSHA256, "subject", t.Leaf.Subject, "issuer", t.Leaf.Issuer,
				"subjectalternative", t.Leaf.SubjectAlt, "serialnumber", t.Leaf.Serial)
		}
		if t.Verified {
			e.gauge("probe_ssl_last_chain_expiry_timestamp_seconds", "Unix time of the earliest expiry in the verified chain.", float64(t.ChainExpiry.Unix()))
		}
	}
}

// emitter sends const gauges, adding its labels (the submission port) to each.
type emitter struct {
	ch     chan<- prometheus.Metric
	labels prometheus.Labels
}

// gauge sends one sample; labelPairs are name, value, name, value….
func (e emitter) gauge(name, help string, v float64, labelPairs ...string) {
	names := make([]string, 0, len(labelPairs)/2)
	values := make([]string, 0, len(labelPairs)/2)
	for i := 0; i+1 < len(labelPairs); i += 2 {
		names = append(names, labelPairs[i])
		values = append(values, labelPairs[i+1])
	}
	desc := prometheus.NewDesc(name, help, names, e.labels)
	e.ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, values...)
}

func (e emitter) flag(name, help string, b *bool) {
	if b != nil {
		e.gauge(name, help, b2f(*b))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

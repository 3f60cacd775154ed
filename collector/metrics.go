// Package collector turns a probe's Result into its metric families (every
// probe_* metric of the contract is named in metrics.go) and encodes them in
// the format the scraper negotiates (exposition.go). It knows nothing of HTTP
// serving: web/ calls it.
package collector

import (
	"github.com/smtp-exporter/smtp_exporter/prober"
)

// probeMetrics is every probe_* metric of the contract, in this one file.
// Families (exposition.go) gathers what emit reports.
type probeMetrics struct {
	res             *prober.Result
	durationSeconds float64
}

// emit reports the whole Result to e's sink: the probe's verdict, then each
// Result of its tree with the labels that place it.
func (p probeMetrics) emit(e emitter) {
	e.gauge("probe_success", "1 if every step of the module passed.", b2f(p.res.Success()))
	e.gauge("probe_duration_seconds", "How long the whole probe took.", p.durationSeconds)
	p.res.Walk(func(n prober.Node) {
		ne := e.with(n.Labels...)
		if n.Result.Nested() {
			collectSummary(ne, n.Result)
		} else {
			collectDialogue(ne, n.Result)
		}
	})
}

// collectDialogue reports one dialogue; for the submission prober e carries the port label.
func collectDialogue(e emitter, r *prober.Result) {
	collectTimings(e, r)
	if r.IPProtocol != 0 {
		e.gauge("probe_ip_protocol", "IP protocol of the address probed: 4 or 6.", float64(r.IPProtocol))
	}
	e.gauge("probe_smtp_reachable", "1 if the TCP connection was established.", b2f(r.Reachable))
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
	for _, x := range r.Extensions {
		e.gauge("probe_smtp_extension_advertised", "1 if the EHLO that counts advertised this extension of smtp.require_extensions.", b2f(x.Advertised), "extension", x.Name)
	}
	for _, v := range r.TLSVersions {
		e.gauge("probe_tls_version_accepted", "1 if the server completed a handshake at this TLS version (tls_scan); absent when the try did not get an answer.", b2f(v.Accepted), "version", v.Version)
	}
	collectFailure(e, r.Failure)
	if t := r.TLS; t != nil {
		e.gauge("probe_tls_version_info", "TLS version negotiated.", 1, "version", t.Version)
		e.gauge("probe_tls_cipher_info", "TLS cipher suite negotiated.", 1, "cipher", t.Cipher)
		e.gauge("probe_tls_certificate_verified", "1 if the chain and host name verify against the configured roots.", b2f(t.Verified))
		if !t.Verified && t.CertReason != "" {
			e.gauge("probe_tls_certificate_verify_error_info", "Why the certificate does not verify: cert_expired, cert_untrusted or cert_hostname (also when opportunistic TLS does not fail the probe).", 1, "reason", string(t.CertReason))
		}
		if !t.LeafExpiry.IsZero() {
			e.gauge("probe_ssl_leaf_expiry_timestamp_seconds", "Unix time of the server certificate's (the leaf's) expiry.", float64(t.LeafExpiry.Unix()))
		}
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
	collectDANE(e, r.DANE)
}

// collectTimings reports name resolution and each phase that ran.
func collectTimings(e emitter, r *prober.Result) {
	if d, ok := r.Duration(prober.PhaseResolve); ok {
		e.gauge("probe_dns_lookup_time_seconds", "How long name resolution took (blackbox's name, kept for compatibility).", d.Seconds())
	}
	for _, ph := range prober.Phases {
		if d, ok := r.Duration(ph); ok {
			e.gauge("probe_smtp_duration_seconds", "Duration of each phase of the SMTP dialogue that ran.", d.Seconds(), "phase", string(ph))
		}
	}
}

func collectFailure(e emitter, f *prober.Failure) {
	if f == nil {
		return
	}
	e.gauge("probe_smtp_failure", "Why the probe failed: present only on failure, one series.", 1, "phase", string(f.Phase), "reason", string(f.Reason))
	if f.Code != 0 {
		e.gauge("probe_smtp_failure_reply_code", "SMTP reply code that decided the failure.", float64(f.Code))
	}
}

// collectSummary reports a Result that summarises nested ones: its own
// phases and failure (the lookups before the dialogues), and what it counts.
// Label values stay bounded by DNS and by the probers' caps: address and
// ip_version at most 16 per host, mx and preference at most 10 per domain.
func collectSummary(e emitter, r *prober.Result) {
	if r.Ports != nil {
		e.gauge("probe_smtp_submission_port", "The port the submission decision rule picks (587 → 465 → 2525), 0 if none works.", float64(r.SubmissionPort))
	}
	collectTimings(e, r)
	collectFailure(e, r.Failure)
	if r.Addresses != nil {
		e.gauge("probe_smtp_addresses", "Addresses probed with all_addresses: the host's A and AAAA records, at most 16.", float64(len(r.Addresses)))
		e.gauge("probe_smtp_addresses_working", "Addresses whose dialogue passed every step (all_addresses).", float64(r.Working()))
	}
	if r.MX != nil {
		collectMX(e, r)
	}
}

// collectMX reports the mx prober's domain: its MX hosts, and its MTA-STS
// policy with whether it names each host.
func collectMX(e emitter, r *prober.Result) {
	mx := r.MX
	e.gauge("probe_smtp_mx_hosts", "MX hosts probed: the domain's MX records (the domain itself without any; 0 for null MX), at most 10.", float64(len(mx.Hosts)))
	e.gauge("probe_smtp_mx_hosts_working", "MX hosts whose every dialogue passed every step.", float64(r.Working()))
	if p := mx.MTASTS; p != nil {
		e.gauge("probe_smtp_mta_sts_mode_info", "Mode of the domain's MTA-STS policy: enforce, testing or none.", 1, "mode", p.Mode)
		e.gauge("probe_smtp_mta_sts_max_age_seconds", "max_age of the domain's MTA-STS policy.", float64(p.MaxAge))
	}
	if t := mx.TLSRPT; t != nil {
		e.gauge("probe_smtp_tlsrpt_record", "1 if the domain publishes exactly one TLS-RPT record (v=TLSRPTv1 at _smtp._tls.<domain>), as senders require (RFC 8460).", b2f(t.Published()))
		if t.Published() {
			e.gauge("probe_smtp_tlsrpt_rua_valid", "1 if the TLS-RPT record names at least one report URI senders can use (mailto: or https:).", b2f(len(t.RUA) > 0))
		}
	}
	for i, c := range r.Children() {
		e.with(c.Labels...).flag("probe_smtp_mta_sts_mx_match", "1 if the MTA-STS policy's mx patterns name this MX host.", mx.Hosts[i].PolicyMatch)
	}
}

// collectDANE reports a dialogue's TLSA check (dane: true).
func collectDANE(e emitter, d *prober.DANEResult) {
	if d == nil {
		return
	}
	e.gauge("probe_smtp_dane_records", "TLSA records at _PORT._tcp.HOST.", float64(d.Records))
	e.gauge("probe_smtp_dane_validated", "1 if the resolver DNSSEC-validated the TLSA answer (AD bit); unvalidated records are ignored, as senders do.", b2f(d.Validated))
	e.flag("probe_smtp_dane_match", "1 if the certificate chain matches a validated, usable TLSA record (DANE-TA or DANE-EE).", d.Match)
}

// emitter hands gauges to its sink, adding its labels (port; address,
// ip_version; mx, preference) to each.
type emitter struct {
	sink   sink
	labels []labelPair
}

type labelPair struct{ name, value string }

// sink receives each sample: the families of Families, or in tests a
// registry, the reference the families are checked against.
type sink interface {
	gauge(name, help string, v float64, labels []labelPair)
}

// gauge sends one sample; labelPairs are name, value, name, value….
func (e emitter) gauge(name, help string, v float64, labelPairs ...string) {
	if x, ok := e.sink.(*Exposition); ok { // every probe's path: no slice made for each sample
		x.gaugePairs(name, help, v, e.labels, labelPairs)
		return
	}
	labels := make([]labelPair, 0, len(e.labels)+len(labelPairs)/2)
	labels = append(labels, e.labels...)
	for i := 0; i+1 < len(labelPairs); i += 2 {
		labels = append(labels, labelPair{labelPairs[i], labelPairs[i+1]})
	}
	e.sink.gauge(name, help, v, labels)
}

// with returns an emitter that adds labels to its own.
func (e emitter) with(labels ...prober.Label) emitter {
	if len(labels) == 0 {
		return e
	}
	all := append([]labelPair{}, e.labels...)
	for _, l := range labels {
		all = append(all, labelPair{l.Name, l.Value})
	}
	return emitter{sink: e.sink, labels: all}
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

package prober

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// TLSRPT is what a domain's TLS-RPT record says (RFC 8460 §3): where
// senders report the TLS failures they meet delivering to it.
type TLSRPT struct {
	// Records counts the TXT records at _smtp._tls.<domain> that start with
	// v=TLSRPTv1. Senders use the record only when there is exactly one.
	Records int
	// RUA are the report URIs of that one record that senders can use:
	// mailto: with an address, https: with a host.
	RUA []string
}

// Published: exactly one record, as senders require.
func (r *TLSRPT) Published() bool { return r.Records == 1 }

// lookupTLSRPT reads the domain's TLS-RPT record with mx.tls_rpt. It is
// reported, never failed: a lookup that fails (or panics) leaves it nil.
func lookupTLSRPT(ctx context.Context, domain string, m config.Module, logger *slog.Logger) (r *TLSRPT) {
	name := "_smtp._tls." + domain
	_ = safely(ctx, PhaseResolve, logger, func() {
		txts, err := newResolver(m).lookupTXT(ctx, name)
		if err != nil {
			logger.Warn("TLS-RPT lookup failed: not reported", "name", name, "err", err)
			return
		}
		r = parseTLSRPT(txts)
		logger.Debug("TLS-RPT record", "name", name, "records", r.Records, "rua", strings.Join(r.RUA, ","))
	})
	return r
}

// parseTLSRPT reads "v=TLSRPTv1; rua=mailto:…,https://…" records; other TXT
// records at the name are not TLS-RPT's and are ignored.
func parseTLSRPT(txts []string) *TLSRPT {
	r := &TLSRPT{}
	var record string
	for _, t := range txts {
		if strings.TrimSpace(strings.Split(t, ";")[0]) == "v=TLSRPTv1" {
			r.Records++
			record = t
		}
	}
	if r.Published() {
		r.RUA = reportURIs(record)
	}
	return r
}

// reportURIs are the usable URIs of the record's first rua field.
func reportURIs(record string) []string {
	for _, f := range strings.Split(record, ";")[1:] {
		list, ok := strings.CutPrefix(strings.TrimSpace(f), "rua=")
		if !ok {
			continue
		}
		var out []string
		for _, u := range strings.Split(list, ",") {
			if u = strings.TrimSpace(u); validReportURI(u) {
				out = append(out, u)
			}
		}
		return out
	}
	return nil
}

// validReportURI: RFC 8460 §3 defines two ways to report, mailto: and https:.
func validReportURI(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "mailto":
		local, domain, ok := strings.Cut(u.Opaque, "@")
		return ok && local != "" && domain != ""
	case "https":
		return u.Host != "" && u.Opaque == ""
	}
	return false
}

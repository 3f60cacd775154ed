package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/smtp-exporter/smtp_exporter/collector"
	"github.com/smtp-exporter/smtp_exporter/prober"
)

// nestedCheckReport lists every dialogue of an all_addresses or mx probe,
// each named by its MX host and/or address.
func nestedCheckReport(r checkReport, req collector.Request, res *prober.Result, now time.Time) checkReport {
	port, proberName := req.Target.Port, req.Module.Prober
	if proberName == "mx" {
		port, proberName = req.Module.MX.Port, "starttls"
	}
	add := func(host string, d *prober.Result, policyMatch *bool) {
		p := newPortReport(port, proberName, d, now)
		p.Host, p.MTASTSMatch = host, policyMatch
		if d.DANE != nil {
			p.DANEMatch = d.DANE.Match
		}
		r.Ports = append(r.Ports, p)
	}
	addAll := func(prefix string, h *prober.Result, policyMatch *bool) {
		if h.Addresses == nil || h.Failure != nil {
			add(strings.TrimSpace(prefix), h, policyMatch)
		}
		for _, a := range h.Addresses {
			add(prefix+a.Addr.String(), a.Result, policyMatch)
		}
	}
	working, total, what := 0, 0, "addresses"
	if res.MX == nil {
		addAll("", res, nil)
		total = len(res.Addresses)
		for _, a := range res.Addresses {
			if a.Result.Success() {
				working++
			}
		}
	} else {
		for _, h := range res.MX.Hosts {
			addAll(h.Name+" ", h.Result, h.PolicyMatch)
		}
		working, total, what = res.MX.Working(), len(res.MX.Hosts), "MX hosts"
		if p := res.MX.MTASTS; p != nil {
			r.Verdict = fmt.Sprintf("MTA-STS policy %s (max_age %ds). ", p.Mode, p.MaxAge)
		}
	}
	switch f := res.Failure; {
	case f != nil:
		r.Verdict += fmt.Sprintf("%s/%s: %s; %d of %d %s work.", f.Phase, f.Reason, explain(f), working, total, what)
	case res.Success():
		r.Verdict += fmt.Sprintf("all %d %s work.", total, what)
	default:
		r.Verdict += fmt.Sprintf("%d of %d %s work.", working, total, what)
	}
	return r
}

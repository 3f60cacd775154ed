package collector

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

// checkMXTarget: the mx prober takes a domain, and probes its MX hosts on
// the module's mx.port itself.
func checkMXTarget(moduleName string, t prober.Target) error {
	if t.Port != 0 {
		return fmt.Errorf("module %q uses the mx prober, which probes the domain's MX hosts on port 25 itself: give a domain without a port", moduleName)
	}
	if _, err := netip.ParseAddr(t.Host); err == nil {
		return fmt.Errorf("module %q uses the mx prober: give a mail domain, not the IP address %s", moduleName, t.Host)
	}
	return nil
}

// child is a result nested in another (an MX host, an address), with where it sits.
type child struct {
	where  string
	result *prober.Result
}

// children lists the results nested in r with all_addresses and the mx
// prober, depth first: each MX host, then its addresses.
func children(r *prober.Result) []child {
	var out []child
	for _, a := range r.Addresses {
		out = append(out, child{a.Addr.String(), a.Result})
	}
	if r.MX == nil {
		return out
	}
	for _, h := range r.MX.Hosts {
		out = append(out, child{h.Name, h.Result})
		for _, c := range children(h.Result) {
			out = append(out, child{h.Name + " " + c.where, c.result})
		}
	}
	return out
}

// nestedFailureSummary is "phase/reason" of the probe and of each nested
// result that failed: "mx2.example.com 192.0.2.7: connect/refused".
func nestedFailureSummary(r *prober.Result) string {
	var parts []string
	if f := r.Failure; f != nil {
		parts = append(parts, fmt.Sprintf("%s/%s", f.Phase, f.Reason))
	}
	for _, c := range children(r) {
		if f := c.result.Failure; f != nil {
			parts = append(parts, fmt.Sprintf("%s: %s/%s", c.where, f.Phase, f.Reason))
		}
	}
	return strings.Join(parts, ", ")
}

// nestedPhaseSummary is the probe's own phases, then a line "[where] …" for each nested result that ran any.
func nestedPhaseSummary(r *prober.Result, one func(*prober.Result) string) []string {
	lines := []string{one(r)}
	for _, c := range children(r) {
		if s := one(c.result); s != "" {
			lines = append(lines, fmt.Sprintf("[%s] %s", c.where, s))
		}
	}
	return lines
}

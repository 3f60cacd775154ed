package collector

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

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

// child is a result nested in another (a submission port, an MX host, an
// address), with where it sits.
type child struct {
	where  string
	result *prober.Result
}

// children lists the results nested in r, depth first: the submission
// prober's ports; with all_addresses each address; with the mx prober each
// MX host, then its addresses.
func children(r *prober.Result) []child {
	var out []child
	for _, p := range r.Ports {
		out = append(out, child{strconv.Itoa(p.Port), p.Result})
	}
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

// dialogues are the single SMTP dialogues of a probe: itself, or the
// innermost of its nested results.
func dialogues(r *prober.Result) []*prober.Result {
	nested := children(r)
	if len(nested) == 0 {
		return []*prober.Result{r}
	}
	var out []*prober.Result
	for _, c := range nested {
		if len(children(c.result)) == 0 {
			out = append(out, c.result)
		}
	}
	return out
}

// failureSummary is "phase/reason" of the probe and of each nested result
// that failed ("mx2.example.com 192.0.2.7: connect/refused"), empty on success.
func failureSummary(r *prober.Result) string {
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

// phaseSummary is the phase timings for the landing page: the probe's own,
// then a line "[where] …" for each nested result that ran any.
func phaseSummary(r *prober.Result) []string {
	one := func(r *prober.Result) string {
		var parts []string
		for _, ph := range phaseOrder {
			if d, ok := r.Duration(ph); ok {
				parts = append(parts, fmt.Sprintf("%s %s", ph, d.Round(100*time.Microsecond)))
			}
		}
		return strings.Join(parts, " · ")
	}
	nested := children(r)
	var lines []string
	if own := one(r); own != "" || len(nested) == 0 {
		lines = append(lines, own)
	}
	for _, c := range nested {
		if s := one(c.result); s != "" {
			lines = append(lines, fmt.Sprintf("[%s] %s", c.where, s))
		}
	}
	return lines
}

package prober

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// maxMXHosts bounds the MX hosts probed (and the mx label's values). Real
// domains have a handful; beyond it, the least preferred are not probed.
const maxMXHosts = 10

// MXResult is the mx prober's picture of a domain's inbound mail.
type MXResult struct {
	Null     bool          // "MX 0 ." (RFC 7505): the domain takes no mail
	Implicit bool          // no MX records: the domain itself is the MX (RFC 5321 §5.1)
	Hosts    []MXHost      // by preference, at most maxMXHosts
	MTASTS   *MTASTSPolicy // the valid policy fetched with mx.mta_sts, nil otherwise
	// TLSRPT is the domain's TLS-RPT record with mx.tls_rpt; nil otherwise or when the lookup failed.
	TLSRPT *TLSRPT
}

// MXHost is one MX host and its dialogue (one per address with all_addresses).
type MXHost struct {
	Name       string // lower case, no trailing dot
	Preference uint16
	Result     *Result
	// PolicyMatch is whether the MTA-STS policy's mx patterns name the host; nil without a policy.
	PolicyMatch *bool
}

// probeMX probes a domain's inbound mail: its MX hosts on mx.port (25) over
// tr (STARTTLS), concurrently under the one deadline, and with mx.mta_sts its
// MTA-STS policy, fetched meanwhile.
func probeMX(ctx context.Context, t Target, m config.Module, tr config.Transport, logger *slog.Logger) *Result {
	domain := hostName(t.Host)
	res := &Result{MX: &MXResult{}}
	var (
		wg         sync.WaitGroup
		policy     *MTASTSPolicy
		policyFail *Failure
		policyTook time.Duration
	)
	if m.MX.MTASTS {
		wg.Go(func() {
			start := time.Now()
			if f := safely(ctx, PhaseMTASTS, logger, func() { policy, policyFail = fetchMTASTS(ctx, domain, m, logger) }); f != nil {
				policy, policyFail = nil, f
			}
			policyTook = time.Since(start)
		})
	}

	if m.MX.TLSRPT {
		wg.Go(func() { res.MX.TLSRPT = lookupTLSRPT(ctx, domain, m, logger) })
	}

	start := time.Now()
	records, err := newResolver(m).lookupMX(ctx, domain)
	res.Timings = append(res.Timings, Timing{Phase: PhaseResolve, Duration: time.Since(start)})
	switch {
	case err != nil:
		res.Failure = fail(PhaseResolve, err)
	default:
		mx := res.MX
		mx.Hosts, mx.Null, mx.Implicit = mxHosts(records, domain, logger)
		if mx.Null {
			res.Failure = failWith(PhaseResolve, ReasonNullMX, 0, fmt.Errorf("%s publishes a null MX (RFC 7505): it accepts no mail", domain))
		}
		probeMXHosts(ctx, mx.Hosts, m, logger, server(tr))
	}

	wg.Wait()
	if m.MX.MTASTS {
		res.Timings = append(res.Timings, Timing{Phase: PhaseMTASTS, Duration: policyTook})
		if policy != nil {
			res.MX.MTASTS = policy
			applyPolicy(res.MX, policy)
		}
		if res.Failure == nil {
			res.Failure = policyFail
		}
	}
	return res
}

// mxHosts turns MX records into the hosts to probe: by preference, each
// name once, at most maxMXHosts. No records means the domain itself
// (implicit MX); only "." means null MX.
func mxHosts(records []mxRecord, domain string, logger *slog.Logger) (hosts []MXHost, null, implicit bool) {
	if len(records) == 0 {
		return []MXHost{{Name: hostName(domain)}}, false, true
	}
	slices.SortFunc(records, func(a, b mxRecord) int {
		return cmp.Or(cmp.Compare(a.Preference, b.Preference), cmp.Compare(a.Host, b.Host))
	})
	seen := map[string]bool{}
	for _, r := range records {
		if r.Host == "." || r.Host == "" || seen[r.Host] {
			continue
		}
		seen[r.Host] = true
		hosts = append(hosts, MXHost{Name: r.Host, Preference: r.Preference})
	}
	if len(hosts) == 0 {
		return nil, true, false
	}
	if len(hosts) > maxMXHosts {
		logger.Warn("domain has more MX hosts than the mx prober probes", "domain", domain, "mx_hosts", len(hosts), "probed", maxMXHosts)
		hosts = hosts[:maxMXHosts]
	}
	return hosts, false, false
}

// probeMXHosts runs probe (a dialogue; one per address with all_addresses)
// with each host at once, on mx.port. A panic in one host's goroutine fails
// that host only.
func probeMXHosts(ctx context.Context, hosts []MXHost, m config.Module, logger *slog.Logger, probe ProbeFn) {
	var wg sync.WaitGroup
	for i := range hosts {
		h := &hosts[i]
		wg.Go(func() {
			h.Result = probeSafely(ctx, PhaseResolve, probe, Target{Host: h.Name, Port: m.MX.Port}, m, logger.With("mx", h.Name))
		})
	}
	wg.Wait()
}

package prober

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// maxAddresses bounds the dialogues (and the address label's values) of one
// host with all_addresses. Real mail hosts have a handful; the rest is
// dropped with a warning, lowest addresses first kept.
const maxAddresses = 16

// AddressResult is one address's dialogue in an all_addresses probe.
type AddressResult struct {
	Addr   netip.Addr
	Result *Result
}

// IPVersion is "4" or "6", the ip_version label.
func (a AddressResult) IPVersion() string {
	if a.Addr.Is4() {
		return "4"
	}
	return "6"
}

// eachAddress makes probe honour all_addresses: a dual-stack host with a
// dead AAAA record loses mail from IPv6 senders while its A record answers.
func eachAddress(probe ProbeFn) ProbeFn {
	return func(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result {
		if !m.AllAddresses || t.Addr.IsValid() {
			return probe(ctx, t, m, logger)
		}
		return probeAllAddresses(ctx, t, m, logger, probe)
	}
}

// probeAllAddresses looks the host up once and runs probe on each address
// concurrently, all under ctx's one deadline. A panic in one address's
// goroutine fails that address only.
func probeAllAddresses(ctx context.Context, t Target, m config.Module, logger *slog.Logger, probe ProbeFn) *Result {
	res := &Result{Addresses: []AddressResult{}}
	start := time.Now()
	addrs, err := newResolver(m).lookupAddrs(ctx, t.Host, m)
	res.Timings = append(res.Timings, Timing{Phase: PhaseResolve, Duration: time.Since(start)})
	if err != nil {
		res.Failure = fail(PhaseResolve, err)
		return res
	}
	if len(addrs) > maxAddresses {
		logger.Warn("host has more addresses than all_addresses probes", "host", t.Host, "addresses", len(addrs), "probed", maxAddresses)
		addrs = addrs[:maxAddresses]
	}
	res.Addresses = make([]AddressResult, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		res.Addresses[i].Addr = a
		at := t
		at.Addr = a
		wg.Go(func() {
			res.Addresses[i].Result = probeSafely(ctx, PhaseConnect, probe, at, m, logger.With("address", a.String()))
		})
	}
	wg.Wait()
	return res
}

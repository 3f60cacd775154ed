package runner

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober"
)

func TestSummaries(t *testing.T) {
	took := func(p prober.Phase, ms int) []prober.Timing {
		return []prober.Timing{{Phase: p, Duration: time.Duration(ms) * time.Millisecond}}
	}
	refused := &prober.Result{Timings: took(prober.PhaseConnect, 1), Failure: &prober.Failure{Phase: prober.PhaseConnect, Reason: prober.ReasonRefused}}
	host := &prober.Result{Timings: took(prober.PhaseResolve, 2), Addresses: []prober.AddressResult{
		{Addr: netip.MustParseAddr("192.0.2.1"), Result: &prober.Result{Timings: took(prober.PhaseConnect, 3)}},
		{Addr: netip.MustParseAddr("2001:db8::1"), Result: refused},
	}}
	mx := &prober.Result{Timings: took(prober.PhaseResolve, 4), MX: &prober.MXResult{Hosts: []prober.MXHost{{Name: "mx1.example.com", Result: host}}}}

	if got, want := FailureSummary(mx), "mx1.example.com 2001:db8::1: connect/refused"; got != want {
		t.Errorf("FailureSummary = %q, want %q", got, want)
	}
	want := []string{"resolve 4ms", "[mx1.example.com] resolve 2ms", "[mx1.example.com 192.0.2.1] connect 3ms", "[mx1.example.com 2001:db8::1] connect 1ms"}
	if got := PhaseSummary(mx); !slices.Equal(got, want) {
		t.Errorf("PhaseSummary = %q, want %q", got, want)
	}
	sub := &prober.Result{Ports: []prober.PortResult{{Port: 587, Result: refused}}}
	if got := FailureSummary(sub); got != "587: connect/refused" {
		t.Errorf("submission FailureSummary = %q", got)
	}
	if got := FailureSummary(&prober.Result{}); got != "" {
		t.Errorf("success FailureSummary = %q", got)
	}
}

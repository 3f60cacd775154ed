package prober

import (
	"fmt"
	"slices"
	"testing"
)

func TestAllAddressesAllUp(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1", "127.0.25.2", "::1")
	servers := n.serve(t, n.cert(t, "dual.example.test"), "127.0.25.1", "127.0.25.2", "::1")
	n.dns.Add(t, "dual.example.test. 300 IN A 127.0.25.2", "dual.example.test. 300 IN A 127.0.25.1",
		"dual.example.test. 300 IN AAAA ::1")
	m := n.module("starttls")
	m.AllAddresses = true

	res := run(t, Probe, Target{Host: "dual.example.test", Port: n.port}, m)
	if !res.Success() || res.Failure != nil {
		t.Fatalf("want success, got failure %v", res.Failure)
	}
	var got []string
	for _, a := range res.Addresses {
		got = append(got, a.Addr.String()+"/"+a.IPVersion())
		wantSuccess(t, a.Result)
		if !a.Result.TLS.Verified {
			t.Errorf("%s: certificate for the host name did not verify: the dialogue must send the name, not the address", a.Addr)
		}
		if _, ok := a.Result.Duration(PhaseResolve); ok {
			t.Errorf("%s: a resolve phase per address; the lookup is the probe's, once", a.Addr)
		}
	}
	if want := []string{"127.0.25.1/4", "127.0.25.2/4", "::1/6"}; !slices.Equal(got, want) {
		t.Errorf("addresses %v, want %v (IPv4 first, sorted)", got, want)
	}
	if _, ok := res.Duration(PhaseResolve); !ok {
		t.Error("no resolve phase on the probe")
	}
	for _, s := range servers {
		noViolations(t, s)
	}
}

func TestAllAddressesOneDead(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1", "127.0.25.3")
	n.serve(t, n.cert(t, "dual.example.test"), "127.0.25.1")
	n.closeUnserved()
	n.dns.Add(t, "dual.example.test. 300 IN A 127.0.25.1", "dual.example.test. 300 IN A 127.0.25.3")
	m := n.module("tcp")
	m.AllAddresses = true

	res := run(t, Probe, Target{Host: "dual.example.test", Port: n.port}, m)
	if res.Success() {
		t.Fatal("success with a dead address")
	}
	if res.Failure != nil {
		t.Errorf("the probe itself failed (%v); only the dead address should", res.Failure)
	}
	wantSuccess(t, address(t, res, "127.0.25.1"))
	wantFailure(t, address(t, res, "127.0.25.3"), PhaseConnect, ReasonRefused, 0)
}

func TestAllAddressesFamilyRestriction(t *testing.T) {
	n := newLoopnet(t, "::1")
	n.serve(t, n.cert(t, "dual.example.test"), "::1")
	n.dns.Add(t, "dual.example.test. 300 IN A 127.0.25.9", "dual.example.test. 300 IN AAAA ::1")
	m := n.module("tcp")
	m.AllAddresses = true
	m.PreferredIPProtocol = "ip6"
	m.IPProtocolFallback = false

	res := run(t, Probe, Target{Host: "dual.example.test", Port: n.port}, m)
	if len(res.Addresses) != 1 || res.Addresses[0].Addr.String() != "::1" {
		t.Fatalf("addresses %+v, want only ::1 (ip6 without fallback)", res.Addresses)
	}
	if !res.Success() {
		t.Errorf("failed: %v", res.Addresses[0].Result.Failure)
	}
}

func TestAllAddressesUnknownHost(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	m := n.module("tcp")
	m.AllAddresses = true
	res := run(t, Probe, Target{Host: "nowhere.example.test", Port: n.port}, m)
	wantFailure(t, res, PhaseResolve, ReasonDNS, 0)
	if res.Addresses == nil || len(res.Addresses) != 0 {
		t.Errorf("Addresses = %#v, want empty and non-nil (all_addresses ran)", res.Addresses)
	}
}

func TestAllAddressesCapped(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	n.closeUnserved()
	for i := range maxAddresses + 4 {
		n.dns.Add(t, fmt.Sprintf("many.example.test. 300 IN A 127.0.26.%d", i+1))
	}
	m := n.module("tcp")
	m.AllAddresses = true
	res := run(t, Probe, Target{Host: "many.example.test", Port: n.port}, m)
	if len(res.Addresses) != maxAddresses {
		t.Errorf("%d addresses probed, want the cap %d", len(res.Addresses), maxAddresses)
	}
}

// TestModuleResolverWithoutAllAddresses: dns_resolver serves the plain probers too.
func TestModuleResolverWithoutAllAddresses(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	n.serve(t, n.cert(t, "one.example.test"), "127.0.25.1")
	n.dns.Add(t, "one.example.test. 300 IN A 127.0.25.1")
	res := run(t, Probe, Target{Host: "one.example.test", Port: n.port}, n.module("starttls"))
	wantSuccess(t, res)
	if res.Addresses != nil {
		t.Error("Addresses set without all_addresses")
	}
	if q := n.dns.Queries(); !slices.Contains(q, "one.example.test. A") {
		t.Errorf("queries %v: the module's resolver was not asked", q)
	}
}

package prober

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
)

// mxNet is example.test with two MX hosts: mx1 (10) on 127.0.25.1, mx2 (20)
// on 127.0.25.2 and ::1, each with a certificate for its name.
func mxNet(t *testing.T, extra ...string) *loopnet {
	n := newLoopnet(t, append([]string{"127.0.25.1", "127.0.25.2", "::1"}, extra...)...)
	n.serve(t, n.cert(t, "mx1.example.test"), "127.0.25.1")
	n.serve(t, n.cert(t, "mx2.example.test"), "127.0.25.2", "::1")
	n.dns.Add(t,
		"example.test. 300 IN MX 20 mx2.example.test.",
		"example.test. 300 IN MX 10 mx1.example.test.",
		"mx1.example.test. 300 IN A 127.0.25.1",
		"mx2.example.test. 300 IN A 127.0.25.2",
		"mx2.example.test. 300 IN AAAA ::1",
	)
	return n
}

func TestMXAllHostsWork(t *testing.T) {
	n := mxNet(t)
	m := n.module("mx")
	m.AllAddresses = true
	res := run(t, Probe, Target{Host: "example.test"}, m)
	if !res.Success() {
		t.Fatalf("failed: %v; hosts %+v", res.Failure, res.MX.Hosts)
	}
	var got []string
	for _, h := range res.MX.Hosts {
		got = append(got, fmt.Sprintf("%s/%d/%d", h.Name, h.Preference, len(h.Result.Addresses)))
	}
	if want := []string{"mx1.example.test/10/1", "mx2.example.test/20/2"}; !slices.Equal(got, want) {
		t.Errorf("hosts %v, want %v (by preference, every address)", got, want)
	}
	if res.Working() != 2 || res.MX.Null || res.MX.Implicit {
		t.Errorf("working %d, null %v, implicit %v", res.Working(), res.MX.Null, res.MX.Implicit)
	}
	if !address(t, host(t, res, "mx2.example.test").Result, "::1").TLS.Verified {
		t.Error("mx2's certificate did not verify for its name over IPv6")
	}
	if _, ok := res.Duration(PhaseResolve); !ok {
		t.Error("no resolve phase for the MX lookup")
	}
}

// TestMXOneAddressDead: mx2's second A record points nowhere.
func TestMXOneAddressDead(t *testing.T) {
	n := mxNet(t, "127.0.25.3")
	n.closeUnserved()
	n.dns.Add(t, "mx2.example.test. 300 IN A 127.0.25.3")
	m := n.module("mx")
	m.AllAddresses = true
	res := run(t, Probe, Target{Host: "example.test"}, m)
	if res.Success() || res.Failure != nil {
		t.Fatalf("success %v, probe failure %v: want failure of one address only", res.Success(), res.Failure)
	}
	if res.Working() != 1 {
		t.Errorf("working %d, want 1", res.Working())
	}
	mx2 := host(t, res, "mx2.example.test").Result
	wantFailure(t, address(t, mx2, "127.0.25.3"), PhaseConnect, ReasonRefused, 0)
	wantSuccess(t, address(t, mx2, "127.0.25.2"))
	wantSuccess(t, address(t, mx2, "::1"))
}

// TestMXOneAddressPerHost: without all_addresses each host gets one dialogue.
func TestMXOneAddressPerHost(t *testing.T) {
	n := mxNet(t)
	res := run(t, Probe, Target{Host: "example.test"}, n.module("mx"))
	if !res.Success() {
		t.Fatalf("failed: %+v", res.MX.Hosts)
	}
	for _, h := range res.MX.Hosts {
		if h.Result.Addresses != nil || h.Result.IPProtocol != 4 {
			t.Errorf("%s: addresses %v, ip %d: want one IPv4 dialogue", h.Name, h.Result.Addresses, h.Result.IPProtocol)
		}
	}
}

func TestMXNull(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	n.dns.Add(t, "example.test. 300 IN MX 0 .")
	res := run(t, Probe, Target{Host: "example.test"}, n.module("mx"))
	wantFailure(t, res, PhaseResolve, ReasonNullMX, 0)
	if !res.MX.Null || len(res.MX.Hosts) != 0 {
		t.Errorf("null %v, hosts %v", res.MX.Null, res.MX.Hosts)
	}
}

// TestMXImplicit: no MX records, so the domain itself is the MX (RFC 5321 §5.1).
func TestMXImplicit(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	n.serve(t, n.cert(t, "example.test"), "127.0.25.1")
	n.dns.Add(t, "example.test. 300 IN A 127.0.25.1")
	res := run(t, Probe, Target{Host: "Example.Test."}, n.module("mx"))
	if !res.Success() || !res.MX.Implicit {
		t.Fatalf("success %v implicit %v: %v %+v", res.Success(), res.MX.Implicit, res.Failure, res.MX.Hosts)
	}
	if h := res.MX.Hosts; len(h) != 1 || h[0].Name != "example.test" || h[0].Preference != 0 {
		t.Errorf("hosts %+v, want example.test with preference 0", h)
	}
}

func TestMXResolveFailures(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	n.dns.Add(t, "broken.test. 300 IN A 127.0.25.1")
	n.dns.ServFail("broken.test.")
	for domain, reason := range map[string]Reason{"nowhere.test": ReasonDNS, "broken.test": ReasonDNS} {
		res := run(t, Probe, Target{Host: domain}, n.module("mx"))
		wantFailure(t, res, PhaseResolve, reason, 0)
		if len(res.MX.Hosts) != 0 {
			t.Errorf("%s: hosts %v", domain, res.MX.Hosts)
		}
	}
}

// TestMXHostFailsToResolve: an MX naming a host without address fails that host only.
func TestMXHostFailsToResolve(t *testing.T) {
	n := mxNet(t)
	n.dns.Add(t, "example.test. 300 IN MX 30 gone.example.test.")
	res := run(t, Probe, Target{Host: "example.test"}, n.module("mx"))
	if res.Success() || res.Failure != nil || res.Working() != 2 {
		t.Fatalf("success %v, failure %v, working %d", res.Success(), res.Failure, res.Working())
	}
	wantFailure(t, host(t, res, "gone.example.test").Result, PhaseResolve, ReasonDNS, 0)
}

func TestMXHostsOrderDedupCap(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var records []mxRecord
	for i := range maxMXHosts + 3 {
		records = append(records, mxRecord{Host: fmt.Sprintf("mx%02d.example.test", i), Preference: uint16(50 - i)})
	}
	records = append(records, mxRecord{Host: "mx00.example.test", Preference: 1}, mxRecord{Host: ".", Preference: 0})
	hosts, null, implicit := mxHosts(records, "example.test", logger)
	if null || implicit || len(hosts) != maxMXHosts {
		t.Fatalf("null %v implicit %v, %d hosts", null, implicit, len(hosts))
	}
	if hosts[0].Name != "mx00.example.test" || hosts[0].Preference != 1 {
		t.Errorf("first host %+v, want mx00 at its lowest preference 1", hosts[0])
	}
	seen := map[string]bool{}
	for i, h := range hosts {
		if seen[h.Name] || h.Name == "." {
			t.Errorf("host %q listed twice or null", h.Name)
		}
		seen[h.Name] = true
		if i > 0 && h.Preference < hosts[i-1].Preference {
			t.Errorf("not by preference: %+v", hosts)
		}
	}
	if _, null, _ := mxHosts([]mxRecord{{Host: "."}}, "example.test", logger); !null {
		t.Error(`only "." is not null MX`)
	}
}

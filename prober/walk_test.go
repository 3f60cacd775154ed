package prober

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// mxTree is a domain with three MX hosts: two addresses that work, one of
// two addresses refused, and one host failed by the MTA-STS policy.
func mxTree() *Result {
	ok := func() *Result { return &Result{Reachable: true} }
	refused := &Result{Failure: &Failure{Phase: PhaseConnect, Reason: ReasonRefused}}
	addrs := func(rs ...*Result) *Result {
		out := &Result{Addresses: []AddressResult{}}
		for i, r := range rs {
			out.Addresses = append(out.Addresses, AddressResult{Addr: netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", i+1)), Result: r})
		}
		return out
	}
	return &Result{MX: &MXResult{Hosts: []MXHost{
		{Name: "mx1.example.com", Preference: 10, Result: addrs(ok(), ok())},
		{Name: "mx2.example.com", Preference: 20, Result: addrs(ok(), refused)},
		{Name: "mx3.example.net", Preference: 30, Result: &Result{Failure: &Failure{Phase: PhaseMTASTS, Reason: ReasonMTASTSMXMismatch}}},
	}}}
}

func TestWalk(t *testing.T) {
	r := mxTree()
	var paths []string
	r.Walk(func(n Node) {
		var labels []string
		for _, l := range n.Labels {
			labels = append(labels, l.Name+"="+l.Value)
		}
		paths = append(paths, strings.Join(n.Path, " ")+"|"+strings.Join(labels, ","))
	})
	want := []string{
		"|",
		"mx1.example.com|mx=mx1.example.com,preference=10",
		"mx1.example.com 2001:db8::1|mx=mx1.example.com,preference=10,address=2001:db8::1,ip_version=6",
		"mx1.example.com 2001:db8::2|mx=mx1.example.com,preference=10,address=2001:db8::2,ip_version=6",
		"mx2.example.com|mx=mx2.example.com,preference=20",
		"mx2.example.com 2001:db8::1|mx=mx2.example.com,preference=20,address=2001:db8::1,ip_version=6",
		"mx2.example.com 2001:db8::2|mx=mx2.example.com,preference=20,address=2001:db8::2,ip_version=6",
		"mx3.example.net|mx=mx3.example.net,preference=30",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("walk:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	if n := len(r.Dialogues()); n != 5 {
		t.Errorf("%d dialogues, want 5", n)
	}
	if r.Working() != 1 || r.Success() {
		t.Errorf("working %d, success %v: want 1 of 3 hosts and a failed probe", r.Working(), r.Success())
	}
	if host := r.MX.Hosts[1].Result; host.Working() != 1 || !host.Nested() {
		t.Errorf("mx2: working %d of its addresses, nested %v", host.Working(), host.Nested())
	}
}

// TestForbidden is the 403 rule: every dialogue forbidden and nothing dialled.
func TestForbidden(t *testing.T) {
	forbid := func(d *Result) {
		d.Failure = &Failure{Phase: PhaseResolve, Reason: ReasonForbidden, Err: fmt.Errorf("%w: x", ErrTargetForbidden)}
	}
	partly := mxTree()
	forbid(partly.MX.Hosts[1].Result.Addresses[1].Result)
	if partly.Forbidden() || mxTree().Forbidden() {
		t.Error("a probe only partly forbidden must be answered as usual")
	}
	whole := mxTree()
	for _, d := range whole.Dialogues() {
		forbid(d)
	}
	if !whole.Forbidden() {
		t.Error("every dialogue forbidden, however deep: want a 403")
	}
	whole.Dials = 1 // the MTA-STS policy host was dialled
	if whole.Forbidden() {
		t.Error("a probe that dialled a connection must not be a 403")
	}
	if (&Result{}).Forbidden() {
		t.Error("a single dialogue that was not forbidden")
	}
}

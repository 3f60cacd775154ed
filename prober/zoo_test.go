package prober

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// zooOutcomes is what each zoo member may make a dialogue end with: a
// reason, or "" for success (valid SMTP, however long or strange).
var zooOutcomes = map[string][]Reason{
	"verbose":              {""},
	"escapes":              {""},
	"tarpit":               {ReasonTimeout},
	"drip-feed":            {ReasonTimeout},
	"endless-reply":        {ReasonBadReply},
	"no-newline":           {ReasonBadReply},
	"garbage":              {ReasonBadReply},
	"huge-chain":           {""},
	"close-after-starttls": {"", ReasonReset}, // only a STARTTLS dialogue meets the close
}

// zooServers are one member served twice: plaintext (STARTTLS offered) and
// behind implicit TLS.
type zooServers struct{ plain, implicit *smtptest.Server }

// aimAtZoo makes the prober kind name talk to z, by what its target names
// and its transport: a kind added to config.Kinds meets the zoo at once.
func aimAtZoo(name string, z zooServers, m config.Module, dns *smtptest.DNSServer) (Target, config.Module, bool) {
	k, ok := config.KindOf(name)
	if !ok {
		return Target{}, m, false
	}
	switch k.Shape {
	case config.Host:
		m.Submission.Ports = []config.SubmissionPort{{Port: z.plain.Port, Prober: "starttls"}, {Port: z.implicit.Port, Prober: "tls"}}
		return Target{Host: "127.0.0.1"}, m, true
	case config.Domain:
		m.DNSResolver, m.MX.Port = dns.Addr, z.plain.Port
		return Target{Host: "zoo.test"}, m, true
	}
	if k.Transport == config.ImplicitTLS {
		return Target{Host: "127.0.0.1", Port: z.implicit.Port}, m, true
	}
	return Target{Host: "127.0.0.1", Port: z.plain.Port}, m, true
}

// TestZoo runs every prober against every hostile server: each probe ends
// by its deadline with a sensible outcome, and nothing is left running.
func TestZoo(t *testing.T) {
	baseGoroutines := runtime.NumGoroutine()
	t.Run("zoo", func(t *testing.T) {
		ca := smtptest.NewCA(t)
		now := time.Now()
		names := []string{"127.0.0.1", "mx.zoo.test"}
		cert := ca.Issue(t, names, now.Add(-time.Hour), now.Add(time.Hour))
		chain := ca.IssueChain(t, names, 20, now.Add(-time.Hour), now.Add(time.Hour))
		dns := smtptest.NewDNSServer(t)
		dns.Add(t, "zoo.test. 300 IN MX 10 mx.zoo.test.", "mx.zoo.test. 300 IN A 127.0.0.1")
		caFile := ca.PEMFile(t)

		probers := config.KindNames()
		// Every probe runs at once (t.Parallel would run only GOMAXPROCS of
		// them, and half of them wait out their deadline); each is then
		// checked in its own subtest.
		var runs []*zooRun
		var wg sync.WaitGroup
		for _, member := range smtptest.Zoo(cert, chain) {
			want, ok := zooOutcomes[member.Name]
			if !ok {
				t.Errorf("zoo member %q has no expected outcomes in zooOutcomes", member.Name)
				continue
			}
			z := zooServers{smtptest.NewServer(t, member.Options), smtptest.NewServer(t, member.Implicit())}
			// Members that must time out do it quickly; the others get room
			// for 1 MB of replies under the race detector on a loaded machine.
			deadline := 10 * time.Second
			if slices.Contains(want, ReasonTimeout) {
				deadline = 2 * time.Second
			}
			for _, name := range probers {
				m := module(name, caFile, deadline)
				if k, _ := config.KindOf(name); k.Accepts(config.OptTLSScan) {
					m.TLSScan = true // the scan's connections meet the member too, under the same deadline
				}
				target, m, ok := aimAtZoo(name, z, m, dns)
				if !ok {
					t.Errorf("prober %q is not aimed at the zoo: add it to aimAtZoo", name)
					continue
				}
				r := &zooRun{name: name + "/" + member.Name, want: want, timeout: deadline}
				runs = append(runs, r)
				wg.Go(func() { r.probe(Probe, target, m, testLogger(t)) })
			}
		}
		wg.Wait()
		for _, r := range runs {
			t.Run(r.name, r.check)
		}
	})
	waitForGoroutines(t, baseGoroutines)
}

// zooRun is one prober against one zoo member.
type zooRun struct {
	name    string
	want    []Reason
	timeout time.Duration
	took    time.Duration
	res     *Result
}

func (r *zooRun) probe(fn ProbeFn, target Target, m config.Module, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	start := time.Now()
	r.res = fn(ctx, target, m, logger)
	r.took = time.Since(start)
}

// check: the probe ended by its deadline with one of the member's outcomes.
func (r *zooRun) check(t *testing.T) {
	// Generous slack: the machine is shared; a probe that ignores its deadline takes 30 s.
	if r.took > r.timeout+time.Second {
		t.Errorf("probe took %s, deadline %s", r.took, r.timeout)
	}
	for _, got := range outcomes(r.res) {
		if !slices.Contains(r.want, got) {
			t.Errorf("dialogue ended with %q, want one of %q (%s)", got, r.want, failureOf(r.res))
		}
	}
}

// outcomes is the reason each dialogue of r ended with ("" for success),
// plus r's own failure when nested dialogues carry the rest.
func outcomes(r *Result) []Reason {
	var nested []*Result
	for _, p := range r.Ports {
		nested = append(nested, p.Result)
	}
	for _, a := range r.Addresses {
		nested = append(nested, a.Result)
	}
	if r.MX != nil {
		for _, h := range r.MX.Hosts {
			nested = append(nested, h.Result)
		}
	}
	var out []Reason
	if r.Failure != nil {
		out = append(out, r.Failure.Reason)
	} else if len(nested) == 0 {
		out = append(out, "")
	}
	for _, n := range nested {
		out = append(out, outcomes(n)...)
	}
	return out
}

func failureOf(r *Result) string {
	var fs []string
	var walk func(*Result)
	walk = func(r *Result) {
		if r.Failure != nil {
			fs = append(fs, r.Failure.Error())
		}
		for _, p := range r.Ports {
			walk(p.Result)
		}
		for _, a := range r.Addresses {
			walk(a.Result)
		}
		if r.MX != nil {
			for _, h := range r.MX.Hosts {
				walk(h.Result)
			}
		}
	}
	walk(r)
	msg := strings.Join(fs, "; ")
	return msg[:min(len(msg), 1000)]
}

// waitForGoroutines fails unless the goroutines fall back to about base within 10 s.
func waitForGoroutines(t *testing.T, base int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n := runtime.NumGoroutine()
		if n <= base+2 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("goroutine leak: %d running, %d before", n, base)
		}
	}
}

package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// costResult is what the submission and mx probes cost against the
// dialogues they are made of, in the same exporter build and run.
type costResult struct {
	Probes []costRow   `json:"probes"`
	Ratios []costRatio `json:"ratios"`
}

type costRow struct {
	Probe string `json:"probe"`
	C     int    `json:"c"`
	CPUMs spread `json:"cpu_ms_per_probe"`
}

// costRatio is a probe's CPU over its baseline's; Expected is the ratio if
// the probe cost exactly its dialogues.
type costRatio struct {
	Name     string  `json:"name"`
	C        int     `json:"c"`
	Value    float64 `json:"value"`
	Expected float64 `json:"expected"`
}

// costCase is one kind of probe measured for the cost figures.
type costCase struct {
	name, path string
}

// cost measures, each kind of probe in an exporter process of its own and
// the kinds taking turns as the sides of compare do: a STARTTLS and an
// implicit-TLS probe by IP; a submission probe of three loopback ports
// (STARTTLS, implicit TLS, STARTTLS); a STARTTLS probe of an MX host by name;
// and mx probes of domains with N MX hosts on 127.0.25.x, their DNS answered
// by prober/smtptest's server on loopback.
func (e *env) cost(out *output) error {
	cases, srv, err := e.costSetup()
	if err != nil {
		return err
	}
	var sides []side
	for _, cs := range cases {
		sides = append(sides, side{name: cs.name, srv: srv, path: cs.path})
	}
	times := map[string][]float64{}
	for r := range e.opt.rounds {
		for _, c := range []int{1, 16} {
			runs, err := e.measureRound(sides, c, r)
			if err != nil {
				return fmt.Errorf("cost: %w", err)
			}
			for _, m := range runs {
				key := m.Side + "/" + strconv.Itoa(c)
				times[key] = append(times[key], m.Sample.CPUMsPerProbe)
			}
		}
	}
	out.Cost = e.costSummary(cases, times)
	return nil
}

func (e *env) costSummary(cases []costCase, times map[string][]float64) *costResult {
	res := &costResult{}
	med := func(name string, c int) float64 { return spreadOf(times[name+"/"+strconv.Itoa(c)]).Median }
	for _, c := range []int{1, 16} {
		for _, cs := range cases {
			res.Probes = append(res.Probes, costRow{Probe: cs.name, C: c, CPUMs: spreadOf(times[cs.name+"/"+strconv.Itoa(c)])})
		}
		st, tls := med("starttls", c), med("tls", c)
		res.Ratios = append(res.Ratios,
			costRatio{Name: "submission / STARTTLS probe", C: c, Value: med("submission", c) / st, Expected: 3},
			costRatio{Name: "submission / (2 STARTTLS + 1 TLS probe)", C: c, Value: med("submission", c) / (2*st + tls), Expected: 1})
		for _, n := range e.opt.mxHosts {
			res.Ratios = append(res.Ratios, costRatio{Name: fmt.Sprintf("mx probe, %d MX host(s) / STARTTLS probe of an MX by name", n),
				C: c, Value: med(mxCase(n), c) / med("starttls-by-name", c), Expected: float64(n)})
		}
	}
	return res
}

func mxCase(n int) string { return fmt.Sprintf("mx-%d-hosts", n) }

// costSetup starts the servers and writes the exporter's config.
func (e *env) costSetup() ([]costCase, server, error) {
	now := time.Now()
	ipCert := e.ca.Issue(e.t, []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	var ports []int
	for _, implicit := range []bool{false, true, false} {
		s := smtptest.NewServer(e.t, smtptest.Options{Cert: &ipCert, ImplicitTLS: implicit, GreetAtOnce: true})
		ports = append(ports, s.Port)
	}
	maxHosts := 1
	for _, n := range e.opt.mxHosts {
		maxHosts = max(maxHosts, n)
	}
	dns, mxPort := e.mxHosts(maxHosts)
	srv, err := e.exporterServer("cost.yml", costConfig(e.caPath, ports, dns.Addr, mxPort))
	if err != nil {
		return nil, server{}, err
	}
	cases := []costCase{
		{"starttls", fmt.Sprintf("/probe?module=bench&target=127.0.0.1:%d", ports[0])},
		{"tls", fmt.Sprintf("/probe?module=tls&target=127.0.0.1:%d", ports[1])},
		{"submission", "/probe?module=sub&target=127.0.0.1"},
		{"starttls-by-name", fmt.Sprintf("/probe?module=named&target=mx1.bench.test:%d", mxPort)},
	}
	for _, n := range e.opt.mxHosts {
		dns.Add(e.t, mxRecords(n)...)
		cases = append(cases, costCase{mxCase(n), fmt.Sprintf("/probe?module=mx&target=n%d.bench.test", n)})
	}
	return cases, srv, nil
}

// mxHosts runs STARTTLS servers mx1…mxN.bench.test on 127.0.25.1…N, one
// port for all (as port 25 would be), and a DNS server naming them.
func (e *env) mxHosts(n int) (*smtptest.DNSServer, int) {
	var addrs, names []string
	for i := 1; i <= n; i++ {
		addrs = append(addrs, fmt.Sprintf("127.0.25.%d", i))
		names = append(names, fmt.Sprintf("mx%d.bench.test", i))
	}
	now := time.Now()
	cert := e.ca.Issue(e.t, names, now.Add(-time.Hour), now.Add(24*time.Hour))
	lns := smtptest.ListenOnOnePort(e.t, addrs...)
	dns := smtptest.NewDNSServer(e.t)
	for i, ln := range lns {
		smtptest.NewServer(e.t, smtptest.Options{Listener: ln, Cert: &cert, GreetAtOnce: true})
		dns.Add(e.t, fmt.Sprintf("%s. 300 IN A %s", names[i], addrs[i]))
	}
	return dns, lns[0].Addr().(*net.TCPAddr).Port
}

// mxRecords: domain nN.bench.test has MX hosts mx1…mxN.
func mxRecords(n int) []string {
	var rr []string
	for i := 1; i <= n; i++ {
		rr = append(rr, fmt.Sprintf("n%d.bench.test. 300 IN MX %d mx%d.bench.test.", n, 10*i, i))
	}
	return rr
}

func costConfig(caPath string, ports []int, dnsAddr string, mxPort int) string {
	common := fmt.Sprintf("    timeout: 5s\n    smtp: {ehlo: bench.test}\n    tls_config: {ca_file: %s}\n", caPath)
	var b strings.Builder
	b.WriteString("modules:\n")
	fmt.Fprintf(&b, "  bench:\n    prober: starttls\n%s", common)
	fmt.Fprintf(&b, "  tls:\n    prober: tls\n%s", common)
	fmt.Fprintf(&b, "  sub:\n    prober: submission\n%s    submission:\n      ports: [{port: %d, prober: starttls}, {port: %d, prober: tls}, {port: %d, prober: starttls}]\n",
		common, ports[0], ports[1], ports[2])
	fmt.Fprintf(&b, "  named:\n    prober: starttls\n%s    dns_resolver: %s\n", common, dnsAddr)
	fmt.Fprintf(&b, "  mx:\n    prober: mx\n%s    dns_resolver: %s\n    mx: {port: %d}\n", common, dnsAddr, mxPort)
	return b.String()
}

func (r *costResult) print(w io.Writer) {
	if r == nil {
		return
	}
	fmt.Fprintln(w, "\nCost of the larger probes (smtp_exporter, CPU ms per probe, median [min–max])")
	for _, p := range r.Probes {
		fmt.Fprintf(w, "  c=%-3d %-20s %.3f [%.3f–%.3f]\n", p.C, p.Probe, p.CPUMs.Median, p.CPUMs.Min, p.CPUMs.Max)
	}
	for _, x := range r.Ratios {
		fmt.Fprintf(w, "  c=%-3d %-56s %.2f (exactly its dialogues: %g)\n", x.C, x.Name, x.Value, x.Expected)
	}
}

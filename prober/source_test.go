package prober

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// TestSourceAddress: with source_ip_address the server sees the connection
// come from that address (all of 127.0.0.0/8 is this machine's on Linux).
func TestSourceAddress(t *testing.T) {
	for _, source := range []string{"", "127.0.0.2"} {
		srv := smtptest.NewServer(t, smtptest.Options{})
		m := module("tcp", "", 5*time.Second)
		m.SourceIPAddress = source
		res := probe(t, Probe, srv.Port, m)
		wantSuccess(t, res)
		want := source
		if want == "" {
			want = "127.0.0.1" // the system's choice for a loopback destination
		}
		if got := srv.Peers(); !slices.Equal(got, []string{want}) {
			t.Errorf("source %q: server saw %v, want %s", source, got, want)
		}
		if res.Source.IsValid() != (source != "") || source != "" && res.Source.String() != source {
			t.Errorf("source %q: Result.Source %v", source, res.Source)
		}
	}
}

// TestSourceAddressPerSubmissionPort: a port's own source_ip_address
// overrides the module's; a port without one uses the module's.
func TestSourceAddressPerSubmissionPort(t *testing.T) {
	p := newPKI(t)
	a := smtptest.NewServer(t, smtptest.Options{Cert: &p.good})
	b := smtptest.NewServer(t, smtptest.Options{Cert: &p.good, ImplicitTLS: true})
	m := module("submission", p.caFile, 5*time.Second)
	m.SourceIPAddress = "127.0.0.3"
	m.Submission.Ports = []config.SubmissionPort{
		{Port: a.Port, Prober: "starttls", SourceIPAddress: "127.0.0.4"},
		{Port: b.Port, Prober: "tls"},
	}
	res := run(t, Probe, Target{Host: "127.0.0.1"}, m)
	if res.SubmissionPort != a.Port || res.Working() != 2 {
		t.Fatalf("submission port %d, working %d: %+v", res.SubmissionPort, res.Working(), res.Ports)
	}
	if got := a.Peers(); !slices.Equal(got, []string{"127.0.0.4"}) {
		t.Errorf("port with its own source: server saw %v", got)
	}
	if got := b.Peers(); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Errorf("port without: server saw %v, want the module's", got)
	}
}

// TestSourceAddressNotLocal: an address this machine does not have fails
// the dial (at bind, before any packet) with an error naming the field.
func TestSourceAddressNotLocal(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	m := module("tcp", "", 5*time.Second)
	m.SourceIPAddress = "198.51.100.77" // TEST-NET-2
	res := probe(t, Probe, srv.Port, m)
	if res.Failure == nil {
		t.Skip("this machine has 198.51.100.77")
	}
	wantFailure(t, res, PhaseConnect, ReasonUnreachable, 0)
	if msg := res.Failure.Err.Error(); !strings.Contains(msg, "source_ip_address 198.51.100.77") || !strings.Contains(msg, "bind") {
		t.Errorf("error %q should name source_ip_address and the bind", msg)
	}
	if len(srv.Peers()) != 0 {
		t.Errorf("server saw %v", srv.Peers())
	}
}

// TestSourceAddressFamily: only the source's family is probed: an IPv6
// literal fails before dialling, and a name's IPv6 address is not used as
// the ip_protocol_fallback would otherwise use it.
func TestSourceAddressFamily(t *testing.T) {
	m := module("tcp", "", 2*time.Second)
	m.SourceIPAddress = "127.0.0.2"
	res := run(t, Probe, Target{Host: "::1", Port: 25}, m)
	wantFailure(t, res, PhaseConnect, ReasonUnreachable, 0)
	if !strings.Contains(res.Failure.Err.Error(), "another address family") {
		t.Errorf("error %q", res.Failure.Err)
	}

	dns := smtptest.NewDNSServer(t)
	dns.Add(t, "v6only.example.test. 300 IN AAAA ::1")
	m.DNSResolver = dns.Addr
	m.SourceIPAddress = ""
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	ln.Close() // a port nothing listens on: refused, after resolving
	target := Target{Host: "v6only.example.test", Port: ln.Addr().(*net.TCPAddr).Port}
	if res := run(t, Probe, target, m); res.Failure == nil || res.Failure.Phase != PhaseConnect {
		t.Fatalf("without a source: %v, want the fallback to ::1 to be dialled", res.Failure)
	}
	m.SourceIPAddress = "127.0.0.2"
	wantFailure(t, run(t, Probe, target, m), PhaseResolve, ReasonDNS, 0)
}

// TestSourceAddressMTASTS: the MTA-STS policy fetch dials from the source too.
func TestSourceAddressMTASTS(t *testing.T) {
	n := newLoopnet(t, "127.0.25.1")
	mx1 := n.serve(t, n.cert(t, "mx1.example.test"), "127.0.25.1")[0]
	var (
		mu    sync.Mutex
		peers []string
	)
	port := policyServer(t, "127.0.25.50", n.cert(t, "mta-sts.example.test"), func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		peers = append(peers, host)
		mu.Unlock()
		policyHandler("version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 86400\n")(w, r)
	})
	n.dns.Add(t, "example.test. 300 IN MX 10 mx1.example.test.", "mx1.example.test. 300 IN A 127.0.25.1",
		"_mta-sts.example.test. 300 IN TXT \"v=STSv1; id=1\"", "mta-sts.example.test. 300 IN A 127.0.25.50")
	m := stsModule(n, port)
	m.SourceIPAddress = "127.0.0.2"
	res := run(t, Probe, Target{Host: "example.test"}, m)
	if !res.Success() {
		t.Fatalf("failed: %v %+v", res.Failure, res.MX.Hosts)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(peers, []string{"127.0.0.2"}) || !slices.Equal(mx1.Peers(), []string{"127.0.0.2"}) {
		t.Errorf("policy host saw %v, MX host saw %v, want 127.0.0.2 each", peers, mx1.Peers())
	}
}

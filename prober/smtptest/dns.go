package smtptest

import (
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// DNSServer answers DNS on 127.0.0.1, UDP and TCP on one port, from records
// the test sets, as a validating resolver would: with the AD bit on every
// answer unless the test marks the name insecure. Point a module's
// dns_resolver at Addr and no query leaves loopback.
type DNSServer struct {
	Addr string

	mu       sync.Mutex
	records  map[dnsKey][]dns.RR
	insecure map[string]bool
	servfail map[string]bool
	queries  []string
}

type dnsKey struct {
	name  string
	qtype uint16
}

// NewDNSServer starts a server; it stops when the test ends.
func NewDNSServer(t TB) *DNSServer {
	t.Helper()
	pc, ln := listenUDPAndTCP(t)
	s := &DNSServer{Addr: pc.LocalAddr().String(), records: map[dnsKey][]dns.RR{},
		insecure: map[string]bool{}, servfail: map[string]bool{}}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: ln, Handler: s}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return s
}

// listenUDPAndTCP finds a port free for both on 127.0.0.1 (a few tries).
func listenUDPAndTCP(t TB) (net.PacketConn, net.Listener) {
	for range 10 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal("no port free for both UDP and TCP on 127.0.0.1")
	return nil, nil
}

// Add parses zone-file lines ("mx1.example.test. 300 IN A 127.0.0.2") and
// adds them; names are absolute.
func (s *DNSServer) Add(t TB, lines ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil || rr == nil {
			t.Fatal("bad record ", strconv.Quote(l), ": ", err)
		}
		k := dnsKey{dns.CanonicalName(rr.Header().Name), rr.Header().Rrtype}
		s.records[k] = append(s.records[k], rr)
	}
}

// Insecure answers questions for name without the AD bit: an unsigned zone,
// or a resolver that does not validate.
func (s *DNSServer) Insecure(name string) {
	s.mu.Lock()
	s.insecure[dns.CanonicalName(name)] = true
	s.mu.Unlock()
}

// ServFail answers every question for name with SERVFAIL.
func (s *DNSServer) ServFail(name string) {
	s.mu.Lock()
	s.servfail[dns.CanonicalName(name)] = true
	s.mu.Unlock()
}

// Queries are the questions asked so far, as "name TYPE".
func (s *DNSServer) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// ServeDNS answers from the records: NXDOMAIN for a name nothing is at or
// below, NODATA for a name without records of the type asked.
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	do := false
	if o := req.IsEdns0(); o != nil {
		do = o.Do()
	}

	s.mu.Lock()
	s.queries = append(s.queries, name+" "+dns.TypeToString[q.Qtype])
	switch {
	case s.servfail[name]:
		m.Rcode = dns.RcodeServerFailure
	case len(s.records[dnsKey{name, q.Qtype}]) > 0:
		m.Answer = append(m.Answer, s.records[dnsKey{name, q.Qtype}]...)
	case !s.exists(name):
		m.Rcode = dns.RcodeNameError
	}
	m.AuthenticatedData = (req.AuthenticatedData || do) && !s.insecure[name] && m.Rcode != dns.RcodeServerFailure
	s.mu.Unlock()

	if o := req.IsEdns0(); o != nil {
		m.SetEdns0(o.UDPSize(), do)
	}
	if w.LocalAddr().Network() == "udp" {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// exists: name has records, or names below it do (an empty non-terminal). Called with mu held.
func (s *DNSServer) exists(name string) bool {
	for k := range s.records {
		if k.name == name || strings.HasSuffix(k.name, "."+name) {
			return true
		}
	}
	return false
}

// ListenOnOnePort listens on the same TCP port of each loopback address
// ("127.0.0.2", "::1"…), as MX hosts all on port 25 would, for the mx
// prober's mx.port. It tries a few ports before giving up.
func ListenOnOnePort(t TB, addrs ...string) []net.Listener {
	t.Helper()
	for range 10 {
		first, err := net.Listen("tcp", net.JoinHostPort(addrs[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
		lns := []net.Listener{first}
		for _, a := range addrs[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(a, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == len(addrs) {
			t.Cleanup(func() {
				for _, ln := range lns {
					ln.Close()
				}
			})
			return lns
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Fatal("no TCP port free on all of ", strings.Join(addrs, ", "))
	return nil
}

package prober

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// loopnet is a small internet on loopback for the port-25 tests: a DNS
// server the test controls, mail hosts on 127.0.25.x (and ::1) all on one
// port, and a CA. Every module it makes points dns_resolver at that server,
// so no query reaches the machine's resolver and no packet leaves loopback.
type loopnet struct {
	dns    *smtptest.DNSServer
	ca     *smtptest.CA
	caFile string
	port   int                     // the port every mail host listens on (mx.port)
	hosts  map[string]net.Listener // address → listener not yet served
	certs  map[string]tls.Certificate
}

// newLoopnet listens on the same port of each address; an address not
// served by a host() stays closed (refused), a dead address.
func newLoopnet(t *testing.T, addrs ...string) *loopnet {
	t.Helper()
	lns := smtptest.ListenOnOnePort(t, addrs...)
	ca := smtptest.NewCA(t)
	n := &loopnet{dns: smtptest.NewDNSServer(t), ca: ca, caFile: ca.PEMFile(t),
		port: lns[0].Addr().(*net.TCPAddr).Port, hosts: map[string]net.Listener{}}
	for i, a := range addrs {
		n.hosts[a] = lns[i]
	}
	t.Cleanup(func() {
		for _, ln := range n.hosts {
			ln.Close()
		}
	})
	return n
}

// cert issues a certificate for names, valid now.
func (n *loopnet) cert(t *testing.T, names ...string) tls.Certificate {
	now := time.Now()
	return n.ca.Issue(t, names, now.Add(-time.Hour), now.Add(30*24*time.Hour))
}

// serve runs a STARTTLS SMTP server with cert on each address.
func (n *loopnet) serve(t *testing.T, cert tls.Certificate, addrs ...string) []*smtptest.Server {
	t.Helper()
	var out []*smtptest.Server
	for _, a := range addrs {
		ln, ok := n.hosts[a]
		if !ok {
			t.Fatalf("address %s not set up by newLoopnet", a)
		}
		delete(n.hosts, a)
		out = append(out, smtptest.NewServer(t, smtptest.Options{Listener: ln, Cert: &cert}))
	}
	return out
}

// closeUnserved closes the listeners no server took: those addresses refuse connections.
func (n *loopnet) closeUnserved() {
	for a, ln := range n.hosts {
		ln.Close()
		delete(n.hosts, a)
	}
}

// module is a module of proberName resolving through the test's DNS server
// and trusting its CA; the mx prober dials the test's port.
func (n *loopnet) module(proberName string) config.Module {
	m := module(proberName, n.caFile, 5*time.Second)
	m.DNSResolver = n.dns.Addr
	if proberName == "mx" {
		m.MX.Port = n.port
	}
	return m
}

// policyServer serves an MTA-STS policy over HTTPS on addr (a loopback
// address) with cert; it returns the port for mx.mta_sts_port.
func policyServer(t *testing.T, addr string, cert tls.Certificate, handler http.HandlerFunc) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the tests make fail on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return ln.Addr().(*net.TCPAddr).Port
}

// policyHandler serves body as text/plain at the well-known path.
func policyHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(body))
	}
}

// run probes target with fn under m's timeout.
func run(t *testing.T, fn ProbeFn, target Target, m config.Module) *Result {
	t.Helper()
	timeout := time.Duration(m.Timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return fn(ctx, target, m, testLogger(t))
}

// host finds an MX host by name.
func host(t *testing.T, r *Result, name string) MXHost {
	t.Helper()
	if r.MX == nil {
		t.Fatal("no MX result")
	}
	for _, h := range r.MX.Hosts {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no MX host %s in %+v", name, r.MX.Hosts)
	return MXHost{}
}

// address finds one address's dialogue.
func address(t *testing.T, r *Result, addr string) *Result {
	t.Helper()
	for _, a := range r.Addresses {
		if a.Addr.String() == addr {
			return a.Result
		}
	}
	t.Fatalf("no dialogue for address %s in %+v", addr, r.Addresses)
	return nil
}

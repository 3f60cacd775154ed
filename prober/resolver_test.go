package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

// TestQueryTruncatedRetriesOverTCP: an answer too big for UDP comes whole over TCP.
func TestQueryTruncatedRetriesOverTCP(t *testing.T) {
	srv := smtptest.NewDNSServer(t)
	for i := range 10 {
		srv.Add(t, fmt.Sprintf("big.example.test. 300 IN TXT \"%02d %s\"", i, strings.Repeat("x", 200)))
	}
	txts, err := resolver{server: srv.Addr}.lookupTXT(context.Background(), "big.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(txts) != 10 {
		t.Errorf("%d TXT records, want 10", len(txts))
	}
	if q := srv.Queries(); len(q) != 2 {
		t.Errorf("queries %v, want the UDP one then the TCP one", q)
	}
}

func TestQueryAnswers(t *testing.T) {
	srv := smtptest.NewDNSServer(t)
	srv.Add(t, "example.test. 300 IN MX 10 MX1.Example.Test.", "a.example.test. 300 IN A 127.0.25.1")
	srv.ServFail("_25._tcp.broken.example.test.")
	r := resolver{server: srv.Addr}
	ctx := context.Background()

	mx, err := r.lookupMX(ctx, "example.test")
	if err != nil || len(mx) != 1 || mx[0] != (mxRecord{Host: "mx1.example.test", Preference: 10}) {
		t.Errorf("MX %+v, %v", mx, err)
	}
	if mx, err := r.lookupMX(ctx, "a.example.test"); err != nil || len(mx) != 0 {
		t.Errorf("a name without MX: %+v, %v; want none and no error", mx, err)
	}
	var de *net.DNSError
	if _, err := r.lookupMX(ctx, "nowhere.example.test"); !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("NXDOMAIN: %v, want a not-found DNSError", err)
	}
	_, err = r.lookupTLSA(ctx, "broken.example.test", 25)
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Errorf("SERVFAIL: %v", err)
	}
	if f := fail(PhaseDANE, err); f.Reason != ReasonDNS {
		t.Errorf("SERVFAIL classified %s", f.Reason)
	}
	q := srv.Queries()
	if len(q) == 0 || !strings.HasPrefix(q[0], "example.test. MX") {
		t.Errorf("queries %v", q)
	}
}

// TestQueryAsksForValidation: the DO bit goes out, and AD comes back only when validated.
func TestQueryAsksForValidation(t *testing.T) {
	srv := smtptest.NewDNSServer(t)
	srv.Add(t, "_25._tcp.a.example.test. 300 IN TLSA 3 1 1 00ff", "_25._tcp.b.example.test. 300 IN TLSA 3 1 1 00ff")
	srv.Insecure("_25._tcp.b.example.test.")
	r := resolver{server: srv.Addr}
	a, err := r.lookupTLSA(context.Background(), "a.example.test", 25)
	if err != nil || !a.validated || len(a.records) != 1 {
		t.Errorf("a: %+v, %v", a, err)
	}
	b, err := r.lookupTLSA(context.Background(), "b.example.test", 25)
	if err != nil || b.validated || len(b.records) != 1 {
		t.Errorf("b: %+v, %v", b, err)
	}
}

// TestQuerySilentServer: a server that never answers costs at most the deadline, and says timeout.
func TestQuerySilentServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = resolver{server: pc.LocalAddr().String()}.query(ctx, "example.test", typeMX)
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout {
		t.Fatalf("err %v, want a timeout DNSError", err)
	}
	if f := fail(PhaseResolve, err); f.Reason != ReasonTimeout {
		t.Errorf("classified %s, want timeout", f.Reason)
	}
}

// TestSystemResolver reads resolv.conf; nothing is sent anywhere.
func TestSystemResolver(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ conf, want string }{
		{"search example.test\nnameserver 2001:db8::53\nnameserver 192.0.2.53\n", "[2001:db8::53]:53"},
		{"# nameserver 192.0.2.1\nnameserver\nnameserver dns.example.test\n  nameserver\t192.0.2.53  # ours\n", "192.0.2.53:53"},
		{"nameserver fe80::1%eth0\n", "[fe80::1%eth0]:53"},
		{"options ndots:2\nnameserver 192.0.2.53", "192.0.2.53:53"}, // no final newline
	} {
		conf := filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(conf, []byte(c.conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := systemResolver(conf); err != nil || got != c.want {
			t.Errorf("systemResolver(%q) = %q, %v; want %q", c.conf, got, err, c.want)
		}
	}
	if _, err := systemResolver(filepath.Join(dir, "missing")); err == nil {
		t.Error("no error for a missing resolv.conf")
	}
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, []byte("search example.test\nnameserver dns.example.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := systemResolver(empty); err == nil || !strings.Contains(err.Error(), "no nameserver") {
		t.Errorf("resolv.conf without a nameserver address: %v", err)
	}
}

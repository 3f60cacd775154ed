package prober

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsScript turns one query into the messages a scripted server sends back.
type dnsScript func(q dnsmessage.Message) [][]byte

// scriptedDNS serves script on 127.0.0.1, over UDP and, on the same port,
// TCP (a nil tcp serves UDP only). It stops when the test ends.
func scriptedDNS(t *testing.T, udp, tcp dnsScript) string {
	t.Helper()
	for range 10 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go serveScriptUDP(pc, udp)
		if tcp == nil {
			return pc.LocalAddr().String()
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			continue // the port is taken for TCP: another pair
		}
		t.Cleanup(func() { ln.Close() })
		go serveScriptTCP(ln, tcp)
		return pc.LocalAddr().String()
	}
	t.Fatal("no port free for both UDP and TCP on 127.0.0.1")
	return ""
}

func serveScriptUDP(pc net.PacketConn, script dnsScript) {
	buf := make([]byte, 2048)
	for { // ends when the test closes pc
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var q dnsmessage.Message
		if q.Unpack(buf[:n]) != nil {
			continue
		}
		for _, d := range script(q) {
			_, _ = pc.WriteTo(d, from)
		}
	}
}

func serveScriptTCP(ln net.Listener, script dnsScript) {
	for { // ends when the test closes ln
		c, err := ln.Accept()
		if err != nil {
			return
		}
		var size [2]byte
		var q dnsmessage.Message
		if _, err := io.ReadFull(c, size[:]); err == nil {
			msg := make([]byte, binary.BigEndian.Uint16(size[:]))
			if _, err := io.ReadFull(c, msg); err == nil && q.Unpack(msg) == nil {
				for _, d := range script(q) {
					_, _ = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(d))), d...))
				}
			}
		}
		c.Close()
	}
}

// dnsAnswer is the answer to q as edit makes it (by default: same ID and
// question, NOERROR, nothing in it), packed.
func dnsAnswer(q dnsmessage.Message, edit func(m *dnsmessage.Message)) []byte {
	m := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true, RecursionAvailable: true}, Questions: slices.Clone(q.Questions)}
	if edit != nil {
		edit(&m)
	}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

func txtRR(name string, txt ...string) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 300},
		Body:   &dnsmessage.TXTResource{TXT: txt},
	}
}

// TestQueryIgnoresStrayDatagrams: over UDP, a datagram that is not the reply
// to the question (another ID, another question, not a response, not DNS)
// is dropped, and the reply that follows is taken; its question may differ
// in case (0x20 mixing). The query carries EDNS0 with DO and the AD bit.
func TestQueryIgnoresStrayDatagrams(t *testing.T) {
	queries := make(chan dnsmessage.Message, 1)
	srv := scriptedDNS(t, func(q dnsmessage.Message) [][]byte {
		select {
		case queries <- q:
		default:
		}
		answer := func(m *dnsmessage.Message) { m.Answers = []dnsmessage.Resource{txtRR("x.example.test.", "wrong")} }
		return [][]byte{
			dnsAnswer(q, func(m *dnsmessage.Message) { answer(m); m.ID++ }),
			dnsAnswer(q, func(m *dnsmessage.Message) {
				answer(m)
				m.Questions = []dnsmessage.Question{{Name: dnsmessage.MustNewName("y.example.test."), Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET}}
			}),
			dnsAnswer(q, func(m *dnsmessage.Message) { answer(m); m.Questions[0].Type = dnsmessage.TypeA }),
			dnsAnswer(q, func(m *dnsmessage.Message) { answer(m); m.Response = false }),
			[]byte("not dns at all"),
			dnsAnswer(q, func(m *dnsmessage.Message) {
				m.Questions[0].Name = dnsmessage.MustNewName("X.Example.TEST.")
				m.Answers = []dnsmessage.Resource{txtRR("x.example.test.", "v=STSv1; ", `id="1"`)}
			}),
		}
	}, nil)
	got, err := resolver{server: srv}.lookupTXT(context.Background(), "x.example.test")
	if err != nil || len(got) != 1 || got[0] != `v=STSv1; id="1"` {
		t.Fatalf("lookupTXT = %q, %v; want the last reply's record, strings joined, bytes as sent", got, err)
	}
	asked := <-queries
	if len(asked.Questions) != 1 || asked.Questions[0].Name.String() != "x.example.test." || !asked.AuthenticData || !asked.RecursionDesired {
		t.Errorf("query %+v: want one fully qualified question, AD and RD set", asked.Header)
	}
	if len(asked.Additionals) != 1 || asked.Additionals[0].Header.Type != dnsmessage.TypeOPT ||
		!asked.Additionals[0].Header.DNSSECAllowed() || asked.Additionals[0].Header.Class != ednsPayload {
		t.Errorf("query additionals %+v: want one OPT with DO and a %d-byte payload", asked.Additionals, ednsPayload)
	}
}

// TestQueryRcodes: NXDOMAIN is an answer; other failures are DNSErrors
// naming the RCODE, extended by the OPT record, and a reply with only a
// header still says why the server refused.
func TestQueryRcodes(t *testing.T) {
	rcodes := map[string]func(m *dnsmessage.Message){
		"servfail.test.": func(m *dnsmessage.Message) { m.RCode = dnsmessage.RCodeServerFailure },
		"nxdomain.test.": func(m *dnsmessage.Message) { m.RCode = dnsmessage.RCodeNameError },
		"refused.test.":  func(m *dnsmessage.Message) { m.RCode = dnsmessage.RCodeRefused; m.Questions = nil },
		"rcode12.test.":  func(m *dnsmessage.Message) { m.RCode = 12 },
		"badsig.test.": func(m *dnsmessage.Message) {
			var opt dnsmessage.ResourceHeader
			_ = opt.SetEDNS0(ednsPayload, 16, true)
			m.Additionals = []dnsmessage.Resource{{Header: opt, Body: &dnsmessage.OPTResource{}}}
		},
	}
	srv := scriptedDNS(t, func(q dnsmessage.Message) [][]byte {
		return [][]byte{dnsAnswer(q, rcodes[q.Questions[0].Name.String()])}
	}, nil)
	r, ctx := resolver{server: srv}, context.Background()

	if txts, err := r.lookupTXT(ctx, "nxdomain.test"); err != nil || len(txts) != 0 {
		t.Errorf("TXT at NXDOMAIN: %q, %v; want none and no error", txts, err)
	}
	var de *net.DNSError
	if _, err := r.lookupMX(ctx, "nxdomain.test"); !errors.As(err, &de) || !de.IsNotFound || de.Err != "no such domain" || de.Name != "nxdomain.test" {
		t.Errorf("MX at NXDOMAIN: %#v", err)
	}
	for name, want := range map[string]string{"servfail.test": "SERVFAIL", "refused.test": "REFUSED", "rcode12.test": "RCODE12", "badsig.test": "BADSIG"} {
		_, err := r.lookupTXT(ctx, name)
		if !errors.As(err, &de) || de.Err != "server answered "+want || de.Name != name || de.Server != srv || de.IsTimeout || de.IsNotFound {
			t.Errorf("%s: %#v, want a DNSError %q", name, err, "server answered "+want)
		}
	}
}

// TestQueryOverTCP: a truncated UDP reply sends the question over TCP with
// its length prefix; a TCP reply with another ID is an error, not an answer.
func TestQueryOverTCP(t *testing.T) {
	truncated := func(q dnsmessage.Message) [][]byte {
		return [][]byte{dnsAnswer(q, func(m *dnsmessage.Message) { m.Truncated = true })}
	}
	srv := scriptedDNS(t, truncated, func(q dnsmessage.Message) [][]byte {
		return [][]byte{dnsAnswer(q, func(m *dnsmessage.Message) {
			m.Answers = []dnsmessage.Resource{txtRR("a.test.", "one"), txtRR("a.test.", "two")}
			if q.Questions[0].Name.String() == "wrongid.test." {
				m.ID++
			}
		})}
	})
	r, ctx := resolver{server: srv}, context.Background()
	if txts, err := r.lookupTXT(ctx, "a.test"); err != nil || len(txts) != 2 {
		t.Errorf("over TCP: %q, %v; want both records", txts, err)
	}
	var de *net.DNSError
	if _, err := r.lookupTXT(ctx, "wrongid.test"); !errors.As(err, &de) || !strings.Contains(de.Err, "does not match") {
		t.Errorf("a TCP reply with another ID: %v, want an error", err)
	}
}

// TestLookupTLSARecords: TLSA records come as bytes; one too short to hold
// usage, selector and matching type is left out.
func TestLookupTLSARecords(t *testing.T) {
	srv := scriptedDNS(t, func(q dnsmessage.Message) [][]byte {
		return [][]byte{dnsAnswer(q, func(m *dnsmessage.Message) {
			m.AuthenticData = true
			h := dnsmessage.ResourceHeader{Name: q.Questions[0].Name, Type: typeTLSA, Class: dnsmessage.ClassINET, TTL: 300}
			m.Answers = []dnsmessage.Resource{
				{Header: h, Body: &dnsmessage.UnknownResource{Type: typeTLSA, Data: []byte{3, 1}}},
				{Header: h, Body: &dnsmessage.UnknownResource{Type: typeTLSA, Data: []byte{3, 1, 1, 0xde, 0xad}}},
			}
		})}
	}, nil)
	a, err := resolver{server: srv}.lookupTLSA(context.Background(), "mx.example.test", 25)
	if err != nil || !a.validated || len(a.records) != 1 {
		t.Fatalf("TLSA %+v, %v", a, err)
	}
	if r := a.records[0]; r.Usage != 3 || r.Selector != 1 || r.MatchingType != 1 || string(r.Data) != "\xde\xad" {
		t.Errorf("record %+v", r)
	}
}

// TestQueryCancelled: a cancelled context ends a query to a silent server as a timeout.
func TestQueryCancelled(t *testing.T) {
	srv := scriptedDNS(t, func(dnsmessage.Message) [][]byte { return nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := resolver{server: srv}.query(ctx, "example.test", typeTXT)
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout {
		t.Errorf("err %#v, want a timeout DNSError", err)
	}
}

// TestOversizedUDPReplyRetriedOverTCP: a server that ignores the EDNS size we
// advertise and sends a datagram larger than the read buffer is asked again
// over TCP, as for a truncated reply, rather than misread.
func TestOversizedUDPReplyRetriedOverTCP(t *testing.T) {
	big := strings.Repeat("x", 250)
	oversized := func(q dnsmessage.Message) [][]byte {
		return [][]byte{dnsAnswer(q, func(m *dnsmessage.Message) {
			for range 20 { // 20 × ~270 bytes: more than udpReadBytes
				m.Answers = append(m.Answers, txtRR("big.test.", big))
			}
		})}
	}
	srv := scriptedDNS(t, oversized, func(q dnsmessage.Message) [][]byte {
		return [][]byte{dnsAnswer(q, func(m *dnsmessage.Message) {
			m.Answers = []dnsmessage.Resource{txtRR("big.test.", "over tcp")}
		})}
	})
	if len(oversized(dnsmessage.Message{Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName("big.test."), Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET}}})[0]) <= udpReadBytes {
		t.Fatal("the oversized reply fits the buffer: the test proves nothing")
	}
	txts, err := resolver{server: srv}.lookupTXT(context.Background(), "big.test")
	if err != nil || len(txts) != 1 || txts[0] != "over tcp" {
		t.Errorf("got %q, %v; want the TCP answer", txts, err)
	}
}

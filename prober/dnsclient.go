package prober

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The wire client behind resolver.query: one question, over UDP or TCP,
// built on x/net's dnsmessage (small, unlike a full DNS library, which would
// cost the exporter its size in memory).

const (
	// ednsPayload is the UDP reply size we advertise (the DNS flag day 2020 value).
	ednsPayload = 1232
	// udpReadBytes holds any reply that keeps to ednsPayload and then some;
	// a datagram that fills it was longer than we asked for and is asked
	// again over TCP (a 64 KiB buffer for every query would be garbage for
	// every MX host's lookups).
	udpReadBytes = 4 << 10
)

const (
	typeTLSA dnsmessage.Type = 52 // RFC 6698; dnsmessage has no name for it
	typeMX                   = dnsmessage.TypeMX
	typeTXT                  = dnsmessage.TypeTXT
)

// errNotOurReply marks a message that is not the answer to our question: a
// late answer to an earlier try, or a forgery. UDP waits on for the right one.
var errNotOurReply = errors.New("reply does not match the query")

// dnsQuery is one question on the wire and what identifies its reply.
type dnsQuery struct {
	id       uint16
	question dnsmessage.Question
	packet   []byte
}

// dnsReply is what the prober reads from an answer.
type dnsReply struct {
	rcode     dnsmessage.RCode // with the OPT record's extended bits
	truncated bool
	validated bool                  // the AD bit
	answers   []dnsmessage.Resource // answer-section records of the type asked
}

// newDNSQuery asks for name (made fully qualified) with the DO bit in EDNS0
// and the AD bit set, so a validating resolver says whether it validated.
func newDNSQuery(name string, qtype dnsmessage.Type) (dnsQuery, error) {
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return dnsQuery{}, fmt.Errorf("bad name %q: %w", name, err)
	}
	q := dnsQuery{id: uint16(rand.Uint32()), question: dnsmessage.Question{Name: n, Type: qtype, Class: dnsmessage.ClassINET}}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(ednsPayload, dnsmessage.RCodeSuccess, true); err != nil {
		return dnsQuery{}, err
	}
	msg := dnsmessage.Message{
		Header:      dnsmessage.Header{ID: q.id, RecursionDesired: true, AuthenticData: true},
		Questions:   []dnsmessage.Question{q.question},
		Additionals: []dnsmessage.Resource{{Header: opt, Body: &dnsmessage.OPTResource{}}},
	}
	if q.packet, err = msg.Pack(); err != nil {
		return dnsQuery{}, fmt.Errorf("bad name %q: %w", name, err)
	}
	return q, nil
}

// exchange sends q to server over network ("udp" or "tcp") and reads the
// reply, within timeout and ctx (its cancellation ends the wait at once).
func exchange(ctx context.Context, network, server string, q dnsQuery, timeout time.Duration) (*dnsReply, error) {
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if network == "tcp" {
		return exchangeTCP(conn, q)
	}
	return exchangeUDP(conn, q)
}

// exchangeUDP sends one datagram and reads until the reply to it comes or the
// deadline passes; datagrams that are not that reply are dropped.
func exchangeUDP(conn net.Conn, q dnsQuery) (*dnsReply, error) {
	if _, err := conn.Write(q.packet); err != nil {
		return nil, err
	}
	buf := make([]byte, udpReadBytes)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		reply, err := q.parse(buf[:n])
		switch {
		case errors.Is(err, errNotOurReply):
			continue
		case n == len(buf): // cut short by the buffer: take it as truncated
			return &dnsReply{truncated: true}, nil
		}
		return reply, err
	}
}

// exchangeTCP sends the query and reads the reply, each framed by its
// two-byte length (RFC 1035 §4.2.2).
func exchangeTCP(conn net.Conn, q dnsQuery) (*dnsReply, error) {
	framed := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(q.packet)), uint16(len(q.packet)))
	if _, err := conn.Write(append(framed, q.packet...)); err != nil {
		return nil, err
	}
	var size [2]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(conn, msg); err != nil {
		return nil, err
	}
	return q.parse(msg)
}

// parse reads msg as the reply to q: errNotOurReply unless its ID and
// question are q's. A reply without a question is taken when it reports an
// error (some servers answer REFUSED so). The records of a truncated reply
// are read as far as they go.
func (q dnsQuery) parse(msg []byte) (*dnsReply, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.ID != q.id {
		return nil, errNotOurReply
	}
	r := &dnsReply{rcode: h.RCode, truncated: h.Truncated, validated: h.AuthenticData}
	asked, err := p.Question()
	switch {
	case errors.Is(err, dnsmessage.ErrSectionDone) && h.RCode != dnsmessage.RCodeSuccess && h.RCode != dnsmessage.RCodeNameError:
		return r, nil
	case err != nil || asked.Type != q.question.Type || asked.Class != q.question.Class ||
		!equalFoldASCII(asked.Name.String(), q.question.Name.String()):
		return nil, errNotOurReply
	}
	if err := r.readSections(&p, q.question.Type, h.RCode); err != nil && !h.Truncated {
		return nil, fmt.Errorf("malformed reply: %w", err)
	}
	return r, nil
}

// readSections keeps the answers of type qtype and reads the extended
// RCODE from the OPT record, if any.
func (r *dnsReply) readSections(p *dnsmessage.Parser, qtype dnsmessage.Type, rcode dnsmessage.RCode) error {
	if err := p.SkipAllQuestions(); err != nil {
		return err
	}
	for {
		h, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return err
		}
		if h.Type != qtype {
			if err := p.SkipAnswer(); err != nil {
				return err
			}
			continue
		}
		rr, err := p.Answer()
		if err != nil {
			return err
		}
		r.answers = append(r.answers, rr)
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return err
	}
	for {
		h, err := p.AdditionalHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Type == dnsmessage.TypeOPT {
			r.rcode = h.ExtendedRCode(rcode)
		}
		if err := p.SkipAdditional(); err != nil {
			return err
		}
	}
}

// equalFoldASCII compares DNS names as DNS does: ASCII letters without regard to case.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// rcodeNames are the RCODE mnemonics of the IANA registry, as dig shows them.
var rcodeNames = map[dnsmessage.RCode]string{
	0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
	6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 11: "DSOTYPENI",
	16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG",
	22: "BADTRUNC", 23: "BADCOOKIE",
}

// rcodeName is the RCODE's mnemonic, or its number when it has none.
func rcodeName(rc dnsmessage.RCode) string {
	if s, ok := rcodeNames[rc]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(int(rc))
}

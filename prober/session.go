package prober

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Bounds on what a server may send, so a hostile one costs bounded memory.
// RFC 5321 allows 512 octets a reply line; real servers stay far below 1000.
const (
	maxLineBytes  = 2048
	maxReplyLines = 100
	// readBufferBytes holds a typical reply whole; longer lines are read in pieces.
	readBufferBytes = 1024
)

// reply is one complete SMTP reply, possibly multi-line.
type reply struct {
	code  int
	lines []string // the text after "NNN-" / "NNN "
}

func (r reply) text() string { return strings.Join(r.lines, " / ") }

// conn is one SMTP connection: it writes commands, reads whole replies and
// logs the transcript.
type conn struct {
	raw    net.Conn
	r      *bufio.Reader
	logger *slog.Logger
	tls    bool
	w      []byte // the command being sent, reused
}

func newConn(c net.Conn, logger *slog.Logger) *conn {
	return &conn{raw: c, r: bufio.NewReaderSize(c, readBufferBytes), logger: logger}
}

// upgrade swaps the transport for TLS; the buffer must be empty (RFC 3207:
// no pipelining past STARTTLS), so the reader is reused.
func (c *conn) upgrade(t *tls.Conn) {
	c.raw = t
	c.r.Reset(t)
	c.tls = true
}

// readLine reads one line of at most maxLineBytes, without its CRLF (a bare
// LF is accepted), after prefix: one allocation holds the transcript's
// "S: …" record and the reply's text.
func (c *conn) readLine(prefix string) (string, error) {
	frag, err := c.r.ReadSlice('\n')
	if err == nil && len(frag) <= maxLineBytes { // the usual case: the line is in the buffer whole
		return prefix + string(trimEOL(frag)), nil
	}
	var line []byte
	for {
		if len(line)+len(frag) > maxLineBytes {
			return "", &protocolError{fmt.Sprintf("reply line longer than %d bytes", maxLineBytes)}
		}
		line = append(line, frag...)
		if err != bufio.ErrBufferFull {
			break
		}
		frag, err = c.r.ReadSlice('\n')
	}
	if err != nil {
		return "", err
	}
	return prefix + string(trimEOL(line)), nil
}

// trimEOL is bytes.TrimRight(b, "\r\n") without building the cut set for every line.
func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// readReply reads a complete reply: every "NNN-" line up to the "NNN " one.
func (c *conn) readReply() (reply, error) {
	var rep reply
	for i := 0; i < maxReplyLines; i++ {
		logged, err := c.readLine("S: ")
		if err != nil {
			return rep, err
		}
		line := logged[len("S: "):]
		if esc := EscapeText(line); len(esc) != len(line) { // the server's bytes end up on terminals
			logged = "S: " + esc
		}
		Log(c.logger, slog.LevelDebug, logged)
		code, last, text, err := parseReplyLine(line)
		if err != nil {
			return rep, err
		}
		if i > 0 && code != rep.code {
			return rep, &protocolError{fmt.Sprintf("reply code changed from %d to %d within one reply", rep.code, code)}
		}
		rep.code = code
		if rep.lines == nil && !last {
			rep.lines = make([]string, 0, 8) // a multi-line reply: EHLO's has about eight
		}
		rep.lines = append(rep.lines, text)
		if last {
			return rep, nil
		}
	}
	return rep, &protocolError{fmt.Sprintf("reply longer than %d lines", maxReplyLines)}
}

// parseReplyLine splits "250-text", "250 text" or "250" (RFC 5321 §4.2).
func parseReplyLine(line string) (code int, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", &protocolError{fmt.Sprintf("line %q is not a reply", clip(line))}
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", &protocolError{fmt.Sprintf("line %q does not start with a reply code", clip(line))}
		}
	}
	code, _ = strconv.Atoi(line[:3])
	if code < 200 || code > 599 {
		return 0, false, "", &protocolError{fmt.Sprintf("reply code %d out of range", code)}
	}
	switch {
	case len(line) == 3:
		return code, true, "", nil
	case line[3] == ' ':
		return code, true, line[4:], nil
	case line[3] == '-':
		return code, false, line[4:], nil
	}
	return 0, false, "", &protocolError{fmt.Sprintf("line %q has no separator after its code", clip(line))}
}

// cmd sends one command and reads its whole reply.
func (c *conn) cmd(line string) (reply, error) {
	return c.cmdLogged(line, line)
}

// cmdLogged sends line but writes logged to the transcript (for AUTH payloads).
func (c *conn) cmdLogged(line, logged string) (reply, error) {
	Log(c.logger, slog.LevelDebug, "C: "+logged)
	c.w = append(append(c.w[:0], line...), "\r\n"...)
	if _, err := c.raw.Write(c.w); err != nil {
		return reply{}, err
	}
	return c.readReply()
}

// capabilities is a parsed EHLO reply: keyword (upper case) → parameters.
type capabilities map[string][]string

// Bounds on what an EHLO reply leaves in the dialogue's capabilities. Real
// servers advertise a dozen keywords with a few short parameters; 100 lines
// of 2 kB ("X a a a …") would otherwise keep 100,000 strings for the rest
// of the dialogue, in each of a probe's dialogues.
const (
	maxCapabilityBytes  = 64  // a longer keyword or parameter names nothing the prober uses
	maxCapabilityParams = 256 // parameters kept over the whole reply
)

// parseEHLO reads the extension lines of an EHLO reply, in any order. The
// first line is the server's name. "AUTH=LOGIN" is the old spelling of AUTH.
// What it keeps is copied out of the reply's lines, so they can be freed;
// the usual keywords and mechanisms are the package's own strings.
func parseEHLO(rep reply) capabilities {
	caps := make(capabilities, 8)
	params := 0
	for _, line := range rep.lines[min(1, len(rep.lines)):] {
		first, rest := nextField(line)
		if first == "" || len(first) > maxCapabilityBytes {
			continue
		}
		kw, mechanism, oldAuth := first, "", len(first) >= 5 && strings.EqualFold(first[:5], "AUTH=")
		if oldAuth {
			kw, mechanism = "AUTH", first[5:]
		}
		kw = capabilityWord(kw)
		if _, ok := caps[kw]; !ok {
			caps[kw] = nil
		}
		for params < maxCapabilityParams {
			p := mechanism
			if !oldAuth {
				if p, rest = nextField(rest); p == "" {
					break
				}
			}
			oldAuth = false
			if len(p) <= maxCapabilityBytes {
				caps[kw] = append(caps[kw], capabilityWord(p))
				params++
			}
		}
	}
	return caps
}

// nextField splits off the first space-separated field of s, as
// strings.Fields would find it, without a slice of them all.
func nextField(s string) (field, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	end := strings.IndexFunc(s, unicode.IsSpace)
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}

// commonWords are the keywords and AUTH mechanisms real servers advertise.
var commonWords = func() map[string]string {
	m := map[string]string{}
	for _, w := range []string{"PIPELINING", "SIZE", "STARTTLS", "AUTH", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN",
		"SMTPUTF8", "CHUNKING", "BINARYMIME", "ETRN", "VRFY", "EXPN", "HELP", "DELIVERBY", "REQUIRETLS", "XCLIENT",
		"XFORWARD", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-1", "SCRAM-SHA-256", "GSSAPI", "NTLM"} {
		m[w] = w
	}
	return m
}()

// capabilityWord is s in upper case, never sharing s's memory.
func capabilityWord(s string) string {
	if w, ok := commonWords[s]; ok {
		return w
	}
	return upperCopy(s)
}

// upperCopy is s in upper case, never sharing s's memory.
func upperCopy(s string) string {
	if u := strings.ToUpper(s); u != s {
		return u
	}
	return strings.Clone(s)
}

func (c capabilities) has(kw string) bool {
	_, ok := c[kw]
	return ok
}

// offersAuth: AUTH names at least one mechanism. A bare "AUTH" (Dovecot
// before TLS, with disable_plaintext_auth) offers nothing to log in with.
func (c capabilities) offersAuth() bool { return len(c["AUTH"]) > 0 }

// size is the SIZE extension's limit (0 = no fixed limit); ok is false when SIZE is not advertised.
func (c capabilities) size() (int64, bool) {
	p, ok := c["SIZE"]
	if !ok {
		return 0, false
	}
	if len(p) == 0 {
		return 0, true
	}
	n, err := strconv.ParseInt(p[0], 10, 64)
	if err != nil || n < 0 {
		return 0, true
	}
	return n, true
}

// clip shortens text for error messages.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// bindDeadline makes every read and write on c fail once ctx ends, whether by
// its deadline or by cancellation (the scraper went away).
func bindDeadline(ctx context.Context, c net.Conn) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
}

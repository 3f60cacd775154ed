package smtptest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The most a client's reply reader must accept (the prober's bounds): lines
// of 2048 bytes with their CRLF, 100 lines a reply.
const (
	VerboseLines     = 100
	VerboseLineBytes = 2048
)

// verbose pads a reply to VerboseLines lines of VerboseLineBytes. The
// filler goes after the first line, so an EHLO reply still starts with the
// server's name and a greeting still ends with its own text.
func verbose(texts []string) []string {
	filler := strings.Repeat("verbose ", VerboseLineBytes/8)[:VerboseLineBytes-len("250-\r\n")]
	out := make([]string, 0, VerboseLines)
	out = append(out, texts[:min(1, len(texts))]...)
	for len(out) < VerboseLines-max(len(texts)-1, 0) {
		out = append(out, filler)
	}
	return append(out, texts[min(1, len(texts)):]...)
}

// ZooMember is one hostile server: a name for test tables and the Options
// that make it (plaintext, STARTTLS offered where it makes sense).
type ZooMember struct {
	Name    string
	Options Options
}

// Implicit is the same behaviour behind implicit TLS (port 465): the
// handshake first, then the member's bytes.
func (m ZooMember) Implicit() Options {
	o := m.Options
	o.ImplicitTLS = true
	return o
}

// EscapeGreeting is the escapes member's greeting: terminal escapes (a
// colour, a window title), NUL, DEL, a C1 control, invalid UTF-8, and
// printable UTF-8 that must stay readable.
var EscapeGreeting = []string{
	"220-\x1b[31mred\x1b[0m \x1b]0;pwned\x07 title",
	"220-NUL\x00 DEL\x7f C1\u009b invalid\xff\xfe",
	"220 Grüße ESMTP",
}

// Zoo is the hostile servers every prober is tested against. cert (for
// 127.0.0.1 and the names the test dials) is served wherever TLS is spoken;
// chain is a certificate with a long chain of intermediates (CA.IssueChain).
// Every member ends by itself within the server's 30 s connection deadline.
func Zoo(cert, chain tls.Certificate) []ZooMember {
	return []ZooMember{
		// Valid SMTP at the limit of what a client must read: every reply 100 lines of 2 KB.
		{"verbose", Options{Cert: &cert, Verbose: true}},
		// Valid SMTP whose text is made to attack a terminal.
		{"escapes", Options{Cert: &cert, Greeting: EscapeGreeting,
			Extensions: []string{"PIPELINING", "X-\x1b[2J\x1b[Hcleared", "STARTTLS"}}},
		{"tarpit", Options{Cert: &cert, Script: tarpit}},
		{"drip-feed", Options{Cert: &cert, Script: dripFeed}},
		{"endless-reply", Options{Cert: &cert, Script: endlessReply}},
		{"no-newline", Options{Cert: &cert, Script: noNewline}},
		{"garbage", Options{Cert: &cert, Script: garbage}},
		{"huge-chain", Options{Cert: &chain}},
		{"close-after-starttls", Options{Cert: &cert, CloseAfterStartTLS: true}},
	}
}

// tarpit accepts and never speaks.
func tarpit(c *Conn) { _, _ = io.Copy(io.Discard, c) }

// dripFeed sends an endless multi-line greeting a byte every 50 ms.
func dripFeed(c *Conn) {
	line := []byte("220-drip\r\n")
	for i := 0; i < 600; i++ { // 30 s
		if _, err := c.Write(line[i%len(line) : i%len(line)+1]); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// endlessReply sends "220-" lines that never reach a last line.
func endlessReply(c *Conn) {
	chunk := bytes.Repeat([]byte("220-still greeting\r\n"), 500)
	for i := 0; i < 2000; i++ { // 20 MB
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// noNewline sends bytes without a line feed.
func noNewline(c *Conn) {
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; i < 256; i++ { // 16 MB
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// garbage sends binary lines that are not SMTP, control bytes included.
func garbage(c *Conn) {
	chunk := bytes.Repeat([]byte("\x16\x03\x01\x00\xff\x1b[31m\x00\x80\x81 not smtp\xfe\r\n"), 100)
	for i := 0; i < 100; i++ {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// RawBytes finds in s what must never reach an operator's terminal from a
// server: control characters but newline, DEL, C1 controls, invalid UTF-8.
// It is "" when s is safe to print.
func RawBytes(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for i, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Sprintf("%q at byte %d", r, i)
		}
	}
	return ""
}

package smtptest

import (
	"bufio"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options script the well-behaved server; zero values give a plain ESMTP
// server that offers STARTTLS when it has a certificate.
type Options struct {
	// Greeting is the greeting's reply lines; nil gives "220 smtptest ESMTP".
	Greeting []string
	// Cert enables STARTTLS, or implicit TLS with ImplicitTLS.
	Cert        *tls.Certificate
	ImplicitTLS bool
	// MinTLSVersion and MaxTLSVersion bound the versions the server accepts;
	// 0 is crypto/tls's default (TLS 1.2 to 1.3).
	MinTLSVersion, MaxTLSVersion uint16
	// Extensions are the EHLO lines after the first; nil gives a default set
	// (with STARTTLS before TLS when Cert is set, AUTH after TLS when Users is set).
	Extensions         []string
	ExtensionsAfterTLS []string
	// Replies overrides the reply to a command verb ("STARTTLS", "MAIL", …).
	Replies map[string]string
	// CloseAfterStartTLS hangs up right after "220 Ready to start TLS".
	CloseAfterStartTLS bool
	// Users are the AUTH accounts; MAIL without AUTH is then refused with 530
	// unless OpenRelay is set.
	Users     map[string]string
	OpenRelay bool
	// Tokens are the OAuth2 bearer tokens XOAUTH2 and OAUTHBEARER accept,
	// each with the user it logs in; any other token gets the error
	// challenge, then 535.
	Tokens map[string]string
	// GreetAtOnce skips the 20 ms pregreet check (for benchmarks: a real
	// server without postscreen greets at once).
	GreetAtOnce bool
	// Listener, when set, is served instead of a new listener on 127.0.0.1:0:
	// for servers on other loopback addresses, or several on one port.
	Listener net.Listener
	// Verbose pads every reply the server builds (greeting, EHLO, STARTTLS,
	// QUIT…) to VerboseLines lines of VerboseLineBytes: the most a client's
	// reply reader must accept. Greeting and Replies lines are sent as given.
	Verbose bool
	// Script, when set, replaces the SMTP dialogue (after the handshake with
	// ImplicitTLS): a hostile server's behaviour.
	Script func(*Conn)
}

// Server is a fake SMTP server on 127.0.0.1. It records every command and
// every breach of the protocol by its clients.
type Server struct {
	Addr string
	Port int

	ln      net.Listener
	opts    Options
	handler func(*Conn)
	wg      sync.WaitGroup

	mu         sync.Mutex
	commands   []string
	violations []string
	peers      []string
}

// NewServer starts a scripted server; it stops when the test ends.
func NewServer(t TB, opts Options) *Server {
	var s *Server
	if opts.Listener != nil {
		s = serverOn(opts.Listener)
	} else {
		s = newServer(t)
	}
	s.opts = opts
	s.handler = s.serveSMTP
	s.start(t)
	return s
}

// NewHandlerServer runs handler for each connection: for hostile behaviour.
func NewHandlerServer(t TB, handler func(*Conn)) *Server {
	s := newServer(t)
	s.handler = handler
	s.start(t)
	return s
}

func newServer(t TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serverOn(ln)
}

func serverOn(ln net.Listener) *Server {
	return &Server{ln: ln, Addr: ln.Addr().String(), Port: ln.Addr().(*net.TCPAddr).Port}
}

func (s *Server) start(t TB) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.peers = append(s.peers, c.RemoteAddr().(*net.TCPAddr).IP.String())
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				s.handler(newConnFor(c, s))
			}()
		}
	}()
	t.Cleanup(func() {
		s.ln.Close()
		s.wg.Wait()
	})
}

// Commands are the lines clients sent, in order, across connections.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Peers are the IP addresses connections came from, in order.
func (s *Server) Peers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.peers...)
}

// Violations are protocol breaches by clients: bare LF, talking before a reply.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

func (s *Server) record(cmd string) {
	s.mu.Lock()
	s.commands = append(s.commands, cmd)
	s.mu.Unlock()
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// Conn is one client connection, for handler scripts.
type Conn struct {
	net.Conn
	r   *bufio.Reader
	srv *Server
}

func newConnFor(c net.Conn, s *Server) *Conn {
	return &Conn{Conn: c, r: bufio.NewReader(c), srv: s}
}

// Send writes raw text as it is.
func (c *Conn) Send(raw string) { _, _ = c.Write([]byte(raw)) }

// Reply writes one reply: code with each text line, "-" between, " " on the
// last; padded to VerboseLines lines when the server is Verbose.
func (c *Conn) Reply(code int, texts ...string) {
	if c.srv.opts.Verbose {
		texts = verbose(texts)
	}
	var b strings.Builder
	for i, t := range texts {
		sep := "-"
		if i == len(texts)-1 {
			sep = " "
		}
		fmt.Fprintf(&b, "%d%s%s\r\n", code, sep, t)
	}
	c.Send(b.String())
}

// SendLines writes raw lines, each with CRLF.
func (c *Conn) SendLines(lines ...string) {
	c.Send(strings.Join(lines, "\r\n") + "\r\n")
}

// ReadLine reads one command line, recording it and any bare LF. It flags a
// client that sent more than one line before this reply (no PIPELINING).
func (c *Conn) ReadLine() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		c.srv.violation("line %q ends in a bare LF", line)
	}
	line = strings.TrimRight(line, "\r\n")
	c.srv.record(line)
	if c.r.Buffered() > 0 {
		c.srv.violation("client sent more after %q before the reply", line)
	}
	return line, nil
}

// serveSMTP is the well-behaved server scripted by Options.
func (s *Server) serveSMTP(c *Conn) {
	o := s.opts
	tlsOn := false
	if o.ImplicitTLS {
		tc := tls.Server(c.Conn, s.tlsConfig())
		if tc.Handshake() != nil {
			return
		}
		c.Conn, c.r, tlsOn = tc, bufio.NewReader(tc), true
	}
	if o.Script != nil {
		o.Script(c)
		return
	}
	// A client that talks before the greeting fails Postfix's pregreet test.
	if !o.GreetAtOnce {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if n, _ := c.r.Peek(1); len(n) > 0 {
			s.violation("client talked before the greeting")
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	switch {
	case o.Greeting != nil:
		c.SendLines(o.Greeting...)
	default:
		c.Reply(220, "smtptest ESMTP")
	}
	authed := false
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		if r, ok := o.Replies[verb]; ok {
			c.SendLines(strings.Split(r, "\n")...)
			if verb == "QUIT" {
				return
			}
			continue
		}
		switch verb {
		case "EHLO":
			c.Reply(250, append([]string{"smtptest"}, s.extensions(tlsOn)...)...)
		case "HELO", "NOOP", "RSET":
			c.Reply(250, "OK")
		case "STARTTLS":
			if o.Cert == nil || tlsOn {
				c.Reply(502, "5.5.1 STARTTLS not available")
				continue
			}
			c.Reply(220, "2.0.0 Ready to start TLS")
			if o.CloseAfterStartTLS {
				return
			}
			tc := tls.Server(c.Conn, s.tlsConfig())
			if tc.Handshake() != nil {
				return
			}
			c.Conn, c.r, tlsOn = tc, bufio.NewReader(tc), true
		case "AUTH":
			authed = s.auth(c, line)
		case "MAIL":
			if (o.Users != nil || o.Tokens != nil) && !authed && !o.OpenRelay {
				c.Reply(530, "5.7.0 Authentication required")
			} else {
				c.Reply(250, "2.1.0 Ok")
			}
		case "RCPT":
			if authed || o.OpenRelay {
				c.Reply(250, "2.1.5 Ok")
			} else {
				c.Reply(554, "5.7.1 Relay access denied")
			}
		case "DATA":
			s.violation("client sent DATA")
			c.Reply(554, "5.5.1 No DATA from probes")
		case "QUIT":
			c.Reply(221, "2.0.0 Bye")
			return
		default:
			c.Reply(502, "5.5.2 Command not recognised")
		}
	}
}

func (s *Server) tlsConfig() *tls.Config {
	o := s.opts
	return &tls.Config{Certificates: []tls.Certificate{*o.Cert}, MinVersion: o.MinTLSVersion, MaxVersion: o.MaxTLSVersion}
}

func (s *Server) extensions(tlsOn bool) []string {
	o := s.opts
	if tlsOn && o.ExtensionsAfterTLS != nil {
		return o.ExtensionsAfterTLS
	}
	if !tlsOn && o.Extensions != nil {
		return o.Extensions
	}
	ext := []string{"PIPELINING", "SIZE 10240000"}
	if o.Cert != nil && !tlsOn {
		ext = append(ext, "STARTTLS")
	}
	var mechs []string
	if o.Users != nil {
		mechs = append(mechs, "PLAIN", "LOGIN", "CRAM-MD5")
	}
	if o.Tokens != nil {
		mechs = append(mechs, "XOAUTH2", "OAUTHBEARER")
	}
	if mechs != nil && tlsOn {
		ext = append(ext, "AUTH "+strings.Join(mechs, " "))
	}
	return append(ext, "8BITMIME")
}

// auth runs PLAIN, LOGIN or CRAM-MD5 against Options.Users.
func (s *Server) auth(c *Conn, line string) bool {
	if _, ok := c.Conn.(*tls.Conn); !ok {
		s.violation("client sent AUTH without TLS")
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		c.Reply(501, "5.5.4 Syntax: AUTH mechanism")
		return false
	}
	dec := func(s string) string { b, _ := base64.StdEncoding.DecodeString(s); return string(b) }
	ask := func(prompt string) string {
		c.Reply(334, base64.StdEncoding.EncodeToString([]byte(prompt)))
		l, _ := c.ReadLine()
		return l
	}
	var user, pass string
	ok := false
	switch strings.ToUpper(f[1]) {
	case "PLAIN":
		resp := ""
		if len(f) > 2 {
			resp = f[2]
		} else {
			resp = ask("")
		}
		parts := strings.Split(dec(resp), "\x00")
		if len(parts) == 3 {
			user, pass = parts[1], parts[2]
			ok = s.opts.Users[user] == pass && pass != ""
		}
	case "LOGIN":
		user = dec(ask("Username:"))
		pass = dec(ask("Password:"))
		ok = s.opts.Users[user] == pass && pass != ""
	case "CRAM-MD5":
		challenge := "<" + strconv.FormatInt(time.Now().UnixNano(), 10) + "@smtptest>"
		parts := strings.Fields(dec(ask(challenge)))
		if len(parts) == 2 {
			want, known := s.opts.Users[parts[0]]
			mac := hmac.New(md5.New, []byte(want))
			mac.Write([]byte(challenge))
			ok = known && hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(parts[1]))
		}
	case "XOAUTH2", "OAUTHBEARER":
		return s.tokenAuth(c, line, strings.ToUpper(f[1]), f[2:])
	default:
		c.Reply(504, "5.5.4 Unrecognized authentication type")
		return false
	}
	if ok {
		c.Reply(235, "2.7.0 Authentication successful")
	} else {
		c.Reply(535, "5.7.8 Authentication credentials invalid")
	}
	return ok
}

package prober

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// Logging in with an OAuth2 bearer token: XOAUTH2 (Google's and Microsoft's
// documents) and OAUTHBEARER (RFC 7628). Both are one client message; a
// server that refuses the token first sends an error challenge (334 with
// base64 JSON), which the client must answer before the final 535.

// maxCommandLine is RFC 5321's limit on a command line, CRLF included
// (§4.5.3.1.4). RFC 4954 §4: an AUTH command that would exceed it with its
// initial response MUST NOT carry it, and real tokens (1–3 KB) never fit.
const maxCommandLine = 512

// bearerToken gets the module's token: from bearer_token_file, or from the
// OAuth2 token endpoint (cached per config load), dialled under the probe's
// deadline and connection bound like every other connection of the probe.
func (d *dialogue) bearerToken(ctx context.Context, a *config.Auth) (string, *Failure) {
	d.phase = PhaseAuth
	start := time.Now()
	dialCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	dial := func(_ context.Context, _, addr string) (c net.Conn, err error) {
		// The Transport dials in a goroutine of its own, which no recover of ours covers.
		if f := safely(dialCtx, PhaseAuth, d.logger, func() { c, err = dialTokenEndpoint(dialCtx, addr, d.mod) }); f != nil {
			return nil, f.Err
		}
		return c, err
	}
	token, fetched, err := a.Token(ctx, dial)
	var pe *PanicError
	switch {
	case errors.As(err, &pe):
		return "", failWith(PhaseAuth, ReasonInternal, 0, err)
	case errors.Is(err, config.ErrTokenEndpoint):
		d.logger.Error("cannot get an OAuth2 token, nothing sent", "err", err)
		return "", failWith(PhaseAuth, ReasonTokenUnavailable, 0, err)
	case err != nil:
		d.logger.Error("cannot read the AUTH token or OAuth2 client secret, nothing sent", "err", err)
		return "", failWith(PhaseAuth, ReasonSecretUnreadable, 0, err)
	case fetched:
		d.logger.Debug("OAuth2 token fetched from the token endpoint", "duration_seconds", time.Since(start).Seconds())
	}
	return token, nil
}

// dialTokenEndpoint looks the token endpoint up through the module's
// resolver and dials it under the connection bound. allowed_targets does
// not apply: it bounds where a /probe caller can send the exporter, and the
// token URL is the operator's, written in the config file.
func dialTokenEndpoint(ctx context.Context, addr string, m config.Module) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip, err := newResolver(m).pick(ctx, host, m)
	if err != nil {
		return nil, err
	}
	return dialTCP(ctx, net.JoinHostPort(ip.String(), port), sourceAddr(m))
}

// tokenExchange runs XOAUTH2 or OAUTHBEARER and returns the server's final
// reply. An error challenge is answered as the mechanism says (XOAUTH2: an
// empty line; OAUTHBEARER: ^A, RFC 7628 §3.2.3) and kept for the failure.
func (d *dialogue) tokenExchange(mech, user, token string) (reply, error) {
	var msg string
	if mech == "OAUTHBEARER" {
		msg = oauthBearerMessage(user, d.target.Host, d.target.Port, token)
	} else {
		msg = xoauth2Message(user, token)
	}
	rep, err := d.initialResponse(mech, base64.StdEncoding.EncodeToString([]byte(msg)))
	if err != nil || rep.code != 334 {
		return rep, err
	}
	d.tokenRefusal = describeTokenRefusal(rep.text())
	dummy := ""
	if mech == "OAUTHBEARER" {
		dummy = base64.StdEncoding.EncodeToString([]byte{0x01})
	}
	return d.c.cmd(dummy)
}

// initialResponse sends AUTH with the client's first message: on the AUTH
// line when it fits in a command line, else after the server's empty 334
// challenge (RFC 4954 §4). The message is <redacted> in the transcript.
func (d *dialogue) initialResponse(mech, resp string) (reply, error) {
	line := "AUTH " + mech + " " + resp
	if len(line)+len("\r\n") <= maxCommandLine {
		return d.c.cmdLogged(line, "AUTH "+mech+" "+redacted)
	}
	rep, err := d.c.cmd("AUTH " + mech)
	if err != nil || rep.code != 334 {
		return rep, err
	}
	if rep.text() != "" { // a client-first mechanism: the first challenge is empty
		return rep, &protocolError{fmt.Sprintf("%s: the server's first challenge is not empty", mech)}
	}
	return d.c.cmdLogged(resp, redacted)
}

// xoauth2Message is XOAUTH2's one message.
func xoauth2Message(user, token string) string {
	return "user=" + user + "\x01auth=Bearer " + token + "\x01\x01"
}

// oauthBearerMessage is RFC 7628's client response: the GS2 header naming
// user (a saslname, RFC 5801: "=" and "," escaped), then host, port and
// the token as key=value pairs ended by ^A.
func oauthBearerMessage(user, host string, port int, token string) string {
	authzid := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
	return "n,a=" + authzid + ",\x01host=" + host + "\x01port=" + strconv.Itoa(port) +
		"\x01auth=Bearer " + token + "\x01\x01"
}

// describeTokenRefusal reads an error challenge, base64 JSON such as
// {"status":"invalid_token","scope":"…"} (RFC 7628 §3.2.2), into words for
// the failure; it is the server's text, so escaped and clipped.
func describeTokenRefusal(challenge string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(challenge))
	var e struct {
		Status string `json:"status"`
		Scope  string `json:"scope"`
	}
	if err != nil || json.Unmarshal(raw, &e) != nil || e.Status == "" {
		return "the token was refused with a challenge that is not the JSON status RFC 7628 describes"
	}
	s := "the token was refused: status " + strconv.Quote(EscapeText(clipText(e.Status, 64)))
	if e.Scope != "" {
		s += ", scope needed " + strconv.Quote(EscapeText(clipText(e.Scope, 200)))
	}
	return s
}

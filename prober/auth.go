package prober

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/smtp-exporter/smtp_exporter/config"
)

const redacted = "<redacted>"

// auth logs in with the module's credentials. Credentials never go over a
// plaintext connection, and never into the transcript.
func (d *dialogue) auth(ctx context.Context) *Failure {
	a := d.mod.SMTP.Auth
	if a == nil {
		return nil
	}
	if !d.c.tls {
		return failWith(PhaseAuth, ReasonAuthUnsupported, 0, errors.New("refusing to send credentials without TLS"))
	}
	if !d.caps.offersAuth() {
		d.res.AuthSuccess = boolPtr(false)
		return failWith(PhaseAuth, ReasonAuthUnsupported, 0, errors.New("AUTH not advertised after TLS"))
	}
	mech, f := d.mechanism(a)
	secret := ""
	if f == nil {
		secret, f = d.credential(ctx, a)
	}
	if f != nil {
		d.res.AuthSuccess = boolPtr(false)
		return f
	}

	start := d.begin(PhaseAuth)
	rep, err := d.saslExchange(mech, a.Username, secret)
	d.timed(PhaseAuth, start)
	d.res.AuthSuccess = boolPtr(err == nil && rep.code == 235)
	switch {
	case err != nil:
		return fail(PhaseAuth, err)
	case rep.code == 235:
		return nil
	case rep.code == 504: // RFC 4954: the mechanism is not supported after all
		return failWith(PhaseAuth, ReasonAuthUnsupported, rep.code, newCodeError(rep))
	case rep.code == 334: // the server wants more than the mechanism has: cancel the exchange
		_, _ = d.c.cmd("*")
		return fail(PhaseAuth, newCodeError(rep))
	case rep.code/100 == 5:
		return d.authFailed(a, secret, rep)
	}
	return fail(PhaseAuth, newCodeError(rep))
}

// mechanism picks the configured mechanism, or the strongest the server
// offers of those that take the module's kind of credential.
func (d *dialogue) mechanism(a *config.Auth) (string, *Failure) {
	offered, speak := d.caps["AUTH"], config.AuthMechanisms
	if a.UsesToken() {
		speak = config.TokenMechanisms
	}
	mech := a.Mechanism
	if mech == "" {
		for _, m := range speak {
			if slices.Contains(offered, m) {
				mech = m
				break
			}
		}
	}
	if mech == "" || !slices.Contains(offered, mech) {
		return "", failWith(PhaseAuth, ReasonAuthUnsupported, 0, fmt.Errorf("no usable mechanism: server offers %v, we speak %v", offered, speak))
	}
	return mech, nil
}

// credential reads the password or gets the token. Nothing is sent when
// that fails: the fault is on the exporter's side or the token endpoint's.
func (d *dialogue) credential(ctx context.Context, a *config.Auth) (string, *Failure) {
	if a.UsesToken() {
		return d.bearerToken(ctx, a)
	}
	password, err := a.ReadPassword()
	if err != nil {
		d.logger.Error("cannot read the AUTH password, nothing sent", "err", err)
		return "", failWith(PhaseAuth, ReasonSecretUnreadable, 0, err)
	}
	return password, nil
}

// authFailed is a 5xx to the credentials. A refused token leaves the cache,
// so the next probe asks the token endpoint for a new one.
func (d *dialogue) authFailed(a *config.Auth, secret string, rep reply) *Failure {
	err := error(newCodeError(rep))
	if a.UsesToken() {
		a.ForgetToken(secret)
		if d.tokenRefusal != "" {
			err = fmt.Errorf("%w (%s)", err, d.tokenRefusal)
		}
	}
	return failWith(PhaseAuth, ReasonAuthFailed, rep.code, err)
}

// saslExchange runs one mechanism and returns the server's final reply.
func (d *dialogue) saslExchange(mech, user, password string) (reply, error) {
	b64 := base64.StdEncoding.EncodeToString
	switch mech {
	case "PLAIN":
		return d.c.cmdLogged("AUTH PLAIN "+b64([]byte("\x00"+user+"\x00"+password)), "AUTH PLAIN "+redacted)
	case "LOGIN":
		rep, err := d.c.cmd("AUTH LOGIN")
		if err != nil || rep.code != 334 {
			return rep, err
		}
		rep, err = d.c.cmdLogged(b64([]byte(user)), redacted)
		if err != nil || rep.code != 334 {
			return rep, err
		}
		return d.c.cmdLogged(b64([]byte(password)), redacted)
	case "CRAM-MD5":
		rep, err := d.c.cmd("AUTH CRAM-MD5")
		if err != nil || rep.code != 334 {
			return rep, err
		}
		challenge, err := base64.StdEncoding.DecodeString(rep.text())
		if err != nil {
			return rep, &protocolError{"CRAM-MD5 challenge is not base64"}
		}
		mac := hmac.New(md5.New, []byte(password))
		mac.Write(challenge)
		return d.c.cmdLogged(b64([]byte(user+" "+hex.EncodeToString(mac.Sum(nil)))), redacted)
	case "XOAUTH2", "OAUTHBEARER":
		return d.tokenExchange(mech, user, password)
	}
	return reply{}, fmt.Errorf("unknown mechanism %s", mech)
}

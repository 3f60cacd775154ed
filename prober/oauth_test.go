package prober

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

const (
	oauthUser     = "probe@example.com"
	oauthClientID = "11111111-2222-3333-4444-555555555555"
	oauthSecret   = "client~secret.Never-Shown"
)

// newOAuthLab is one CA for the SMTP server and the token endpoint.
func newOAuthLab(t *testing.T) (*smtptest.CA, string) {
	ca := smtptest.NewCA(t)
	return ca, ca.PEMFile(t)
}

// smtpWithTokens is a STARTTLS server that accepts tokens for oauthUser.
func smtpWithTokens(t *testing.T, ca *smtptest.CA, tokens ...string) *smtptest.Server {
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	accepted := map[string]string{}
	for _, tok := range tokens {
		accepted[tok] = oauthUser
	}
	return smtptest.NewServer(t, smtptest.Options{Cert: &cert, Tokens: accepted})
}

// tokenModule loads a starttls module logging in with mech and the given
// token source (YAML under smtp.auth), through config.Parse as a file is.
func tokenModule(t *testing.T, caFile, timeout, mech, source string) config.Module {
	t.Helper()
	y := fmt.Sprintf("modules:\n  m:\n    prober: starttls\n    timeout: %s\n    tls_config: {ca_file: %s}\n"+
		"    smtp:\n      ehlo: probe.test\n      auth:\n        username: %s\n        mechanism: %s\n%s",
		timeout, caFile, oauthUser, mech, source)
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	return cfg.Modules["m"]
}

func bearerFileSource(t *testing.T, token string) (string, string) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "        bearer_token_file: " + path + "\n", path
}

func oauth2Source(tokenURL, caFile, secret string) string {
	return "        oauth2:\n" +
		"          client_id: " + oauthClientID + "\n" +
		"          client_secret: " + secret + "\n" +
		"          token_url: " + tokenURL + "\n" +
		"          scopes: [https://outlook.office365.com/.default]\n" +
		"          tls_config: {ca_file: " + caFile + "}\n"
}

func newTokenServer(t *testing.T, ca *smtptest.CA, expiresIn int) *smtptest.TokenServer {
	return smtptest.NewTokenServer(t, ca, smtptest.TokenOptions{
		ClientID: oauthClientID, ClientSecret: oauthSecret,
		Scope: "https://outlook.office365.com/.default", ExpiresIn: expiresIn,
	})
}

// sentTokens are the bearer tokens the client's AUTH messages carried, in order.
func sentTokens(srv *smtptest.Server) []string {
	var out []string
	for _, c := range srv.Commands() {
		f := strings.Fields(c)
		if len(f) == 0 {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(f[len(f)-1])
		if _, after, ok := strings.Cut(string(raw), "auth=Bearer "); err == nil && ok {
			out = append(out, strings.TrimRight(after, "\x01"))
		}
	}
	return out
}

// TestTokenAuthSuccess logs in with XOAUTH2 and OAUTHBEARER, with a token
// from bearer_token_file (short: on the AUTH line) and from the token
// endpoint (long, like a real one: after an empty 334, RFC 4954 §4).
func TestTokenAuthSuccess(t *testing.T) {
	ca, caFile := newOAuthLab(t)
	for _, mech := range config.TokenMechanisms {
		t.Run(mech+" bearer_token_file", func(t *testing.T) {
			srv := smtpWithTokens(t, ca, "short-token.1")
			source, _ := bearerFileSource(t, "short-token.1")
			res := probe(t, Probe, srv.Port, tokenModule(t, caFile, "5s", mech, source))
			wantSuccess(t, res)
			wantTokenLogin(t, srv, res, mech, "short-token.1", true)
		})
		t.Run(mech+" oauth2", func(t *testing.T) {
			ts := newTokenServer(t, ca, 3600)
			srv := smtpWithTokens(t, ca, ts.Token(1))
			res := probe(t, Probe, srv.Port, tokenModule(t, caFile, "5s", mech, oauth2Source(ts.URL, caFile, oauthSecret)))
			wantSuccess(t, res)
			wantTokenLogin(t, srv, res, mech, ts.Token(1), false)
			if n := ts.Requests(); n != 1 {
				t.Errorf("token endpoint asked %d times, want 1", n)
			}
		})
	}
}

func wantTokenLogin(t *testing.T, srv *smtptest.Server, res *Result, mech, token string, onAuthLine bool) {
	t.Helper()
	noViolations(t, srv)
	if res.AuthSuccess == nil || !*res.AuthSuccess {
		t.Errorf("auth success = %v", res.AuthSuccess)
	}
	if got := sentTokens(srv); len(got) != 1 || got[0] != token {
		t.Errorf("tokens sent = %.40q, want the one %.40q", got, token)
	}
	cmds := strings.Join(srv.Commands(), "\n")
	if bare := strings.Contains(cmds, "AUTH "+mech+"\n"); bare == onAuthLine {
		t.Errorf("initial response on the AUTH line = %v, want %v:\n%.300s", !bare, onAuthLine, cmds)
	}
	if mech == "OAUTHBEARER" {
		// RFC 7628 §3.1: the GS2 header names the user, then host and port.
		want := fmt.Sprintf("n,a=%s,\x01host=127.0.0.1\x01port=%d\x01auth=Bearer ", oauthUser, srv.Port)
		if !strings.Contains(decodedCommands(srv), want) {
			t.Errorf("no OAUTHBEARER message starting %q in %q", want, decodedCommands(srv))
		}
	}
}

func decodedCommands(srv *smtptest.Server) string {
	var b strings.Builder
	for _, c := range srv.Commands() {
		f := strings.Fields(c)
		if len(f) > 0 {
			raw, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
			b.Write(raw)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestTokenRefused: a server that refuses the token sends an error
// challenge; the client answers it as its mechanism says (the fake server
// records any other answer as a violation), then the 535 is auth_failed,
// with the challenge's status in the error.
func TestTokenRefused(t *testing.T) {
	ca, caFile := newOAuthLab(t)
	for mech, status := range map[string]string{"XOAUTH2": `"401"`, "OAUTHBEARER": `"invalid_token"`} {
		for name, token := range map[string]string{"on the AUTH line": "revoked-token", "after 334": strings.Repeat("R", 1500)} {
			t.Run(mech+" "+name, func(t *testing.T) {
				srv := smtpWithTokens(t, ca, "the-good-token")
				source, _ := bearerFileSource(t, token)
				res := probe(t, Probe, srv.Port, tokenModule(t, caFile, "5s", mech, source))
				noViolations(t, srv)
				wantFailure(t, res, PhaseAuth, ReasonAuthFailed, 535)
				if msg := res.Failure.Err.Error(); !strings.Contains(msg, "status "+status) || !strings.Contains(msg, "mail.example.test") {
					t.Errorf("error %q does not carry the challenge's status and scope", msg)
				}
				if res.AuthSuccess == nil || *res.AuthSuccess {
					t.Errorf("auth success = %v, want false", res.AuthSuccess)
				}
			})
		}
	}
}

// TestTokenEndpointFailure: a token endpoint that refuses the client, is
// down or never answers fails the probe at auth with token_unavailable
// within the deadline, and no AUTH reaches the SMTP server.
func TestTokenEndpointFailure(t *testing.T) {
	ca, caFile := newOAuthLab(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accepts and says nothing, like a token endpoint behind a black hole
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct {
		name, url, secret, want string
	}{
		{"wrong client secret", "", "wrong-secret", "HTTP 401"},
		{"endpoint down", "down", oauthSecret, "connection refused"},
		{"endpoint silent", "https://" + silent.Addr().String() + "/token", oauthSecret, "deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, ca, 3600)
			url := ts.URL
			switch tc.url {
			case "down":
				ts.Close()
			case "":
			default:
				url = tc.url
			}
			srv := smtpWithTokens(t, ca, ts.Token(1))
			res := probeReturns(t, Probe, srv.Port, tokenModule(t, caFile, "2s", "XOAUTH2", oauth2Source(url, caFile, tc.secret)))
			wantFailure(t, res, PhaseAuth, ReasonTokenUnavailable, 0)
			msg := res.Failure.Err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, tc.secret) {
				t.Errorf("error %q: want it to say %q, never the secret", msg, tc.want)
			}
			for _, c := range srv.Commands() {
				if strings.HasPrefix(c, "AUTH") {
					t.Errorf("sent %.30q without a token", c)
				}
			}
			if cmds := srv.Commands(); tc.want != "deadline" && cmds[len(cmds)-1] != "QUIT" {
				t.Errorf("the dialogue did not end with QUIT: %q", cmds)
			}
		})
	}
}

// TestTokenCachedUntilExpiry: the token is asked for once per config load
// and reused, by every probe, concurrent ones too, until it expires; the
// next probe then gets a new one.
func TestTokenCachedUntilExpiry(t *testing.T) {
	ca, caFile := newOAuthLab(t)
	t.Run("cached", func(t *testing.T) {
		ts := newTokenServer(t, ca, 3600)
		srv := smtpWithTokens(t, ca, ts.Token(1))
		m := tokenModule(t, caFile, "5s", "XOAUTH2", oauth2Source(ts.URL, caFile, oauthSecret))
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { wantSuccess(t, probe(t, Probe, srv.Port, m)) })
		}
		wg.Wait()
		wantSuccess(t, probe(t, Probe, srv.Port, m))
		if n := ts.Requests(); n != 1 {
			t.Errorf("token endpoint asked %d times for 5 probes, want 1", n)
		}
	})
	t.Run("refreshed after expiry", func(t *testing.T) {
		ts := newTokenServer(t, ca, 1)
		srv := smtpWithTokens(t, ca, ts.Token(1), ts.Token(2))
		m := tokenModule(t, caFile, "5s", "OAUTHBEARER", oauth2Source(ts.URL, caFile, oauthSecret))
		wantSuccess(t, probe(t, Probe, srv.Port, m))
		time.Sleep(2 * time.Second) // the 1 s token has expired
		wantSuccess(t, probe(t, Probe, srv.Port, m))
		if n := ts.Requests(); n != 2 {
			t.Errorf("token endpoint asked %d times, want 2", n)
		}
		if got := sentTokens(srv); len(got) != 2 || got[0] != ts.Token(1) || got[1] != ts.Token(2) {
			t.Errorf("tokens sent = %.20q, want the first then the second", got)
		}
	})
	t.Run("refused token dropped", func(t *testing.T) {
		ts := newTokenServer(t, ca, 3600)
		srv := smtpWithTokens(t, ca, ts.Token(2)) // the first token is refused
		m := tokenModule(t, caFile, "5s", "XOAUTH2", oauth2Source(ts.URL, caFile, oauthSecret))
		wantFailure(t, probe(t, Probe, srv.Port, m), PhaseAuth, ReasonAuthFailed, 535)
		wantSuccess(t, probe(t, Probe, srv.Port, m))
		if n := ts.Requests(); n != 2 {
			t.Errorf("token endpoint asked %d times, want 2 (the refused token forgotten)", n)
		}
	})
}

// TestTokenSecretUnreadable: a token file or client secret file that cannot
// be read at probe time is secret_unreadable, and nothing is sent.
func TestTokenSecretUnreadable(t *testing.T) {
	ca, caFile := newOAuthLab(t)
	ts := newTokenServer(t, ca, 3600)
	srv := smtpWithTokens(t, ca, "tok", ts.Token(1))
	for name, tc := range map[string]struct {
		fromFile bool
		content  string
	}{
		"bearer_token_file removed":         {},
		"bearer_token_file not a token":     {content: "tok\x01en"},
		"oauth2.client_secret_file removed": {fromFile: true},
	} {
		t.Run(name, func(t *testing.T) {
			source, path := bearerFileSource(t, "tok")
			if tc.fromFile {
				path = filepath.Join(t.TempDir(), "client-secret")
				if err := os.WriteFile(path, []byte(oauthSecret+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				source = strings.Replace(oauth2Source(ts.URL, caFile, ""), "client_secret: \n", "client_secret_file: "+path+"\n", 1)
			}
			m := tokenModule(t, caFile, "5s", "XOAUTH2", source)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if tc.content != "" {
				if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			res := probe(t, Probe, srv.Port, m)
			wantFailure(t, res, PhaseAuth, ReasonSecretUnreadable, 0)
			if !strings.Contains(res.Failure.Err.Error(), path) {
				t.Errorf("error %q does not name the file", res.Failure.Err)
			}
		})
	}
	for _, c := range srv.Commands() {
		if strings.HasPrefix(c, "AUTH") {
			t.Errorf("sent %.30q without a readable secret", c)
		}
	}
	if ts.Requests() != 0 {
		t.Errorf("the token endpoint was asked without a client secret")
	}
}

// TestTokenMessages pins the two messages byte for byte.
func TestTokenMessages(t *testing.T) {
	if got, want := xoauth2Message("u@example.com", "T"), "user=u@example.com\x01auth=Bearer T\x01\x01"; got != want {
		t.Errorf("XOAUTH2 = %q, want %q", got, want)
	}
	got := oauthBearerMessage("a=b,c@example.com", "smtp.example.com", 587, "T")
	if want := "n,a=a=3Db=2Cc@example.com,\x01host=smtp.example.com\x01port=587\x01auth=Bearer T\x01\x01"; got != want {
		t.Errorf("OAUTHBEARER = %q, want %q", got, want)
	}
	if got := describeTokenRefusal("bm90IGpzb24="); !strings.Contains(got, "not the JSON") {
		t.Errorf("a challenge that is not JSON: %q", got)
	}
}

// TestTokenMechanismChoice: without a mechanism, a token goes with
// OAUTHBEARER when offered, else XOAUTH2 (Microsoft 365 offers only that);
// a server offering neither is auth_unsupported, and nothing is sent.
func TestTokenMechanismChoice(t *testing.T) {
	ca, caFile := newOAuthLab(t)
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	source, _ := bearerFileSource(t, "tok")
	m := tokenModule(t, caFile, "5s", "", source)
	for offered, want := range map[string]string{
		"AUTH PLAIN XOAUTH2 OAUTHBEARER": "AUTH OAUTHBEARER ",
		"AUTH LOGIN XOAUTH2":             "AUTH XOAUTH2 ",
		"AUTH PLAIN LOGIN":               "",
	} {
		srv := smtptest.NewServer(t, smtptest.Options{Cert: &cert, Tokens: map[string]string{"tok": oauthUser},
			ExtensionsAfterTLS: []string{offered}})
		res := probe(t, Probe, srv.Port, m)
		noViolations(t, srv)
		cmds := strings.Join(srv.Commands(), "\n")
		if want == "" {
			wantFailure(t, res, PhaseAuth, ReasonAuthUnsupported, 0)
			if strings.Contains(cmds, "AUTH") {
				t.Errorf("%s: sent AUTH:\n%s", offered, cmds)
			}
			continue
		}
		wantSuccess(t, res)
		if !strings.Contains(cmds, want) {
			t.Errorf("%s: want %q in\n%s", offered, want, cmds)
		}
	}
}

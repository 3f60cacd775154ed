package smtptest

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// tokenAuth runs XOAUTH2 or OAUTHBEARER against Options.Tokens. A token it
// does not know gets the error challenge both mechanisms define (base64
// JSON); the client must answer it (XOAUTH2: an empty line; OAUTHBEARER:
// ^A, RFC 7628 §3.2.3) before the 535.
func (s *Server) tokenAuth(c *Conn, line, mech string, initial []string) bool {
	var resp string
	if len(initial) > 0 {
		resp = initial[0]
		if len(line)+2 > 512 {
			s.violation("AUTH %s line of %d octets: RFC 4954 §4 forbids an initial response beyond 512", mech, len(line)+2)
		}
	} else {
		c.Reply(334, "")
		resp, _ = c.ReadLine()
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		s.violation("%s response is not base64", mech)
		c.Reply(501, "5.5.2 Cannot decode response")
		return false
	}
	user, token, err := parseTokenMessage(mech, string(raw))
	if err != nil {
		s.violation("%s message malformed: %v", mech, err)
		c.Reply(501, "5.5.2 Malformed "+mech+" message")
		return false
	}
	if want, ok := s.opts.Tokens[token]; ok && want == user {
		c.Reply(235, "2.7.0 Authentication successful")
		return true
	}
	status, dummy := "invalid_token", "AQ==" // base64 of ^A
	if mech == "XOAUTH2" {
		status, dummy = "401", ""
	}
	challenge, _ := json.Marshal(map[string]string{"status": status, "schemes": "bearer", "scope": "https://mail.example.test/"})
	c.Reply(334, base64.StdEncoding.EncodeToString(challenge))
	if got, err := c.ReadLine(); err == nil && got != dummy {
		s.violation("%s error challenge answered with %.20q, want %q", mech, got, dummy)
	}
	c.Reply(535, "5.7.8 Username and Password not accepted")
	return false
}

// parseTokenMessage reads the user and token of an XOAUTH2 message
// ("user=U^Aauth=Bearer T^A^A") or an OAUTHBEARER one (RFC 7628:
// "n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A").
func parseTokenMessage(mech, msg string) (user, token string, err error) {
	body, ok := strings.CutSuffix(msg, "\x01\x01")
	if !ok {
		return "", "", errors.New("does not end with ^A^A")
	}
	if mech == "OAUTHBEARER" {
		gs2, rest, ok := strings.Cut(body, ",\x01")
		a, found := strings.CutPrefix(gs2, "n,a=")
		if !ok || !found {
			return "", "", errors.New("no GS2 header n,a=USER,")
		}
		user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(a)
		body = rest
	}
	for _, kv := range strings.Split(body, "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "user":
			user = v
		case "auth":
			if token, ok = strings.CutPrefix(v, "Bearer "); !ok {
				return "", "", errors.New("auth is not Bearer")
			}
		}
	}
	if user == "" || token == "" {
		return "", "", errors.New("no user or no token")
	}
	return user, token, nil
}

// TokenOptions script a TokenServer.
type TokenOptions struct {
	ClientID, ClientSecret string
	// Scope, when set, is the only scope granted (Microsoft's
	// https://outlook.office365.com/.default).
	Scope string
	// ExpiresIn is the lifetime of each token, in seconds (default 3600).
	ExpiresIn int
}

// TokenServer is an OAuth2 token endpoint (client credentials, RFC 6749
// §4.4) on https://127.0.0.1 under a certificate of the test's CA. It
// issues Token(1), Token(2)… in order and counts the requests.
type TokenServer struct {
	URL  string // the token_url
	opts TokenOptions
	srv  *httptest.Server

	mu       sync.Mutex
	requests int
	issued   int
}

// NewTokenServer starts a token endpoint; it stops when the test ends.
func NewTokenServer(t TB, ca *CA, opts TokenOptions) *TokenServer {
	if opts.ExpiresIn == 0 {
		opts.ExpiresIn = 3600
	}
	s := &TokenServer{opts: opts}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	cert := ca.Issue(t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + "/oauth2/v2.0/token"
	return s
}

// Token is the n-th token the server issues (from 1): as long as a real
// one (Microsoft's are 1–3 KB), so that it never fits on the AUTH line.
func (s *TokenServer) Token(n int) string {
	return fmt.Sprintf("tok%d.", n) + strings.Repeat("eyJ0eXAiOiJKV1Qi", 100)
}

// Requests counts the requests the endpoint answered, good or bad.
func (s *TokenServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Close stops the endpoint: later requests find nothing listening.
func (s *TokenServer) Close() { s.srv.Close() }

func (s *TokenServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	id, secret, basic := r.BasicAuth()
	if basic { // x/oauth2 form-escapes both in the header (RFC 6749 §2.3.1)
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method != http.MethodPost || r.PostFormValue("grant_type") != "client_credentials":
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"unsupported_grant_type"}`)
	case id != s.opts.ClientID || secret != s.opts.ClientSecret:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
	case s.opts.Scope != "" && r.PostFormValue("scope") != s.opts.Scope:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_scope"}`)
	default:
		s.mu.Lock()
		s.issued++
		n := s.issued
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": s.Token(n), "token_type": "Bearer", "expires_in": s.opts.ExpiresIn})
	}
}

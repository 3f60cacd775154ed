package config

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	promconfig "github.com/prometheus/common/config"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TokenMechanisms are the SASL mechanisms that log in with an OAuth2 bearer
// token, in order of preference when the module names none: OAUTHBEARER is
// the standard (RFC 7628), XOAUTH2 what Microsoft 365 speaks.
var TokenMechanisms = []string{"OAUTHBEARER", "XOAUTH2"}

// IsTokenMechanism says whether mech logs in with a bearer token.
func IsTokenMechanism(mech string) bool { return slices.Contains(TokenMechanisms, mech) }

// UsesToken says whether the credentials are a bearer token, not a password.
func (a *Auth) UsesToken() bool {
	return a.BearerTokenFile != "" || a.OAuth2 != nil || IsTokenMechanism(a.Mechanism)
}

// ErrTokenEndpoint marks an error of the OAuth2 token endpoint (it did not
// answer, refused the client, sent no usable token), as opposed to a secret
// of the exporter's own that could not be read.
var ErrTokenEndpoint = errors.New("OAuth2 token endpoint")

// DialFunc opens the connection to the token endpoint's HOST:PORT.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// maxTokenResponseHeader bounds the token endpoint's response headers; x/oauth2
// bounds the body (1 MiB).
const maxTokenResponseHeader = 16 << 10

// Token returns the bearer token for XOAUTH2 and OAUTHBEARER: read from
// bearer_token_file at each probe (so an external refresher needs no
// reload), or from the OAuth2 client-credentials cache, which asks the token
// endpoint through dial, under ctx, when it holds no valid token. fetched
// says the endpoint was asked. Errors never carry a token or a secret.
func (a *Auth) Token(ctx context.Context, dial DialFunc) (token string, fetched bool, err error) {
	if a.BearerTokenFile != "" {
		b, err := ReadFile(a.BearerTokenFile, MaxSecretFileSize)
		if err != nil {
			return "", false, fmt.Errorf("bearer_token_file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if err := checkBearerToken(token); err != nil {
			return "", false, fmt.Errorf("bearer_token_file: %s: %w", a.BearerTokenFile, err)
		}
		return token, false, nil
	}
	if a.OAuth2 == nil {
		return "", false, errors.New("no bearer_token_file or oauth2 for a token mechanism")
	}
	src := a.tokens
	if src == nil { // an Auth built by hand, not loaded: no cache across probes
		if src, err = newTokenSource(a.OAuth2); err != nil {
			return "", false, err
		}
	}
	return src.token(ctx, dial)
}

// ForgetToken drops token from the cache, if it is still the cached one:
// the server refused it (revoked, or issued before a permission change),
// so the next probe asks for a new one instead of failing until it expires.
func (a *Auth) ForgetToken(token string) {
	if a.tokens == nil {
		return
	}
	a.tokens.mu.Lock()
	defer a.tokens.mu.Unlock()
	if a.tokens.current != nil && a.tokens.current.AccessToken == token {
		a.tokens.current = nil
	}
}

// tokenSource is one module's client-credentials flow and its cached token.
type tokenSource struct {
	cfg *promconfig.OAuth2
	tls *tls.Config // for the token endpoint, from oauth2.tls_config
	// turn lets one probe at a time ask the endpoint; the others wait for
	// its token, each until its own deadline.
	turn chan struct{}
	// flow is reused so that it remembers how the endpoint wants the client
	// credentials (Basic header or form); only the holder of turn uses it.
	flow clientcredentials.Config

	mu      sync.Mutex
	current *oauth2.Token // nil or expired: ask the endpoint
}

func newTokenSource(o *promconfig.OAuth2) (*tokenSource, error) {
	tlsCfg, err := newClientTLS(o.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("oauth2.%w", err) // newClientTLS names tls_config
	}
	params := url.Values{}
	for k, v := range o.EndpointParams {
		params.Set(k, v)
	}
	return &tokenSource{
		cfg:  o,
		tls:  tlsCfg,
		turn: make(chan struct{}, 1),
		flow: clientcredentials.Config{ClientID: o.ClientID, TokenURL: o.TokenURL, Scopes: o.Scopes, EndpointParams: params},
	}, nil
}

// token returns the cached token while it is valid (x/oauth2 counts a
// token expired 10 s early), else asks the endpoint for a new one.
func (s *tokenSource) token(ctx context.Context, dial DialFunc) (string, bool, error) {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return "", false, fmt.Errorf("%w: waiting for another probe's token request: %w", ErrTokenEndpoint, ctx.Err())
	}
	defer func() { <-s.turn }()
	s.mu.Lock()
	cur := s.current
	s.mu.Unlock()
	if cur.Valid() {
		return cur.AccessToken, false, nil
	}
	tok, err := s.fetch(ctx, dial)
	if err != nil {
		return "", false, err
	}
	s.mu.Lock()
	s.current = tok
	s.mu.Unlock()
	return tok.AccessToken, true, nil
}

// fetch runs the client-credentials grant (RFC 6749 §4.4) under ctx.
func (s *tokenSource) fetch(ctx context.Context, dial DialFunc) (*oauth2.Token, error) {
	secret, err := s.clientSecret()
	if err != nil {
		return nil, err
	}
	s.flow.ClientSecret = secret
	tr := &http.Transport{
		DialContext:            dial,
		TLSClientConfig:        s.tls,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: maxTokenResponseHeader,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A redirect would carry the client secret elsewhere: not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tok, err := s.flow.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	if err != nil {
		return nil, tokenEndpointError(err)
	}
	if err := checkBearerToken(tok.AccessToken); err != nil {
		return nil, fmt.Errorf("%w: access_token: %w", ErrTokenEndpoint, err)
	}
	return tok, nil
}

// clientSecret is client_secret, or client_secret_file read now, so a
// rotated secret needs no reload.
func (s *tokenSource) clientSecret() (string, error) {
	if s.cfg.ClientSecretFile == "" {
		return string(s.cfg.ClientSecret), nil
	}
	b, err := ReadFile(s.cfg.ClientSecretFile, MaxSecretFileSize)
	if err != nil {
		return "", fmt.Errorf("oauth2.client_secret_file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// tokenEndpointError keeps what an SRE needs of a failed token request: the
// HTTP status and the endpoint's error code and description (quoted: they
// are the endpoint's text), never its raw body.
func tokenEndpointError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
	}
	msg := "answered"
	if re.Response != nil {
		msg += fmt.Sprintf(" HTTP %d %s", re.Response.StatusCode, http.StatusText(re.Response.StatusCode))
	}
	if re.ErrorCode != "" {
		msg += fmt.Sprintf(", error %q", clipString(re.ErrorCode, 64))
	}
	if re.ErrorDescription != "" {
		msg += fmt.Sprintf(": %q", clipString(re.ErrorDescription, 300))
	}
	return fmt.Errorf("%w %s", ErrTokenEndpoint, msg)
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkBearerToken accepts an RFC 6750 b64token: anything else would break
// the SASL message it goes into (a ^A ends a field).
func checkBearerToken(tok string) error {
	if tok == "" {
		return errors.New("empty token")
	}
	body := strings.TrimRight(tok, "=")
	for _, r := range body {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+/", r)) {
			return errors.New("not an RFC 6750 bearer token (letters, digits and -._~+/ only)")
		}
	}
	if body == "" {
		return errors.New("not an RFC 6750 bearer token")
	}
	return nil
}

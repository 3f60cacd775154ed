package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"

	promconfig "github.com/prometheus/common/config"
)

func (c *Config) validate() error {
	if len(c.Modules) == 0 {
		return errors.New("no modules defined")
	}
	allowed, err := parseAllowList(c.AllowedTargets)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range c.ModuleNames() {
		m := c.Modules[name]
		if err := m.validate(); err != nil {
			errs = append(errs, fmt.Errorf("module %q: %w", name, err))
			continue
		}
		if err := m.prepare(allowed); err != nil {
			errs = append(errs, fmt.Errorf("module %q: %w", name, err))
			continue
		}
		c.Modules[name] = m
	}
	return errors.Join(errs...)
}

// Revalidated checks a module changed after load (check's --tls.* and
// --auth.* flags) as a load would, and prepares it again.
func (m Module) Revalidated() (Module, error) {
	m.fillDefaults()
	if err := m.validate(); err != nil {
		return m, err
	}
	err := m.prepare(m.Allowed)
	return m, err
}

// moduleChecks are a module's checks in the order their errors are
// reported. Each names the field it is about; none changes the module
// (defaults are set while decoding).
var moduleChecks = []func(m *Module, k Kind) error{
	checkTimeout,
	checkOptions,
	checkIPProtocol,
	checkTLSVerification,
	checkResolver,
	checkSMTP,
	checkAuth,
	checkSubmissionPorts,
	checkMX,
	checkSMTPExpectations,
	checkSourceAddresses,
}

func (m *Module) validate() error {
	if m.Prober == "" {
		return fmt.Errorf("prober: missing (one of %s)", strings.Join(KindNames(), ", "))
	}
	k, ok := KindOf(m.Prober)
	if !ok {
		return fmt.Errorf("prober: unknown prober %q (one of %s)", m.Prober, strings.Join(KindNames(), ", "))
	}
	for _, check := range moduleChecks {
		if err := check(m, k); err != nil {
			return err
		}
	}
	return nil
}

// prepare gives a valid module what probes need at hand: the allow-list,
// and its TLS config built once (which also catches unreadable CA and
// client certificate files at load time).
func (m *Module) prepare(allowed *AllowList) error {
	m.Allowed = allowed
	m.tls = &tlsCache{}
	if _, err := m.ClientTLS(); err != nil {
		return err // names its tls_config field
	}
	if a := m.SMTP.Auth; a != nil && a.OAuth2 != nil {
		var err error
		if a.tokens, err = newTokenSource(a.OAuth2); err != nil {
			return fmt.Errorf("smtp.auth.%w", err)
		}
	}
	return nil
}

// optionFields are the module fields that only some kinds accept.
var optionFields = []struct {
	opt   Option
	field string
	set   func(m *Module) bool
	why   string
}{
	{OptAuth, "smtp.auth", func(m *Module) bool { return m.SMTP.Auth != nil },
		"credentials need TLS: they never go over plaintext"},
	{OptAuth, "smtp.check_auth_enforced", func(m *Module) bool { return m.SMTP.CheckAuthEnforced },
		"the RFC 6409 check is about submission servers, and they need TLS"},
	{OptFailAuthBeforeTLS, "smtp.fail_if_auth_before_tls", func(m *Module) bool { return m.SMTP.FailIfAuthBeforeTLS },
		"it needs a plaintext EHLO before STARTTLS"},
	{OptAllAddresses, "all_addresses", func(m *Module) bool { return m.AllAddresses }, ""},
	{OptDANE, "dane", func(m *Module) bool { return m.DANE }, ""},
	{OptSubmissionPorts, "submission.ports", func(m *Module) bool { return len(m.Submission.Ports) > 0 }, ""},
	{OptMX, "mx", func(m *Module) bool { return m.MX != (MX{}) }, ""},
	{OptServerName, "tls_config.server_name", func(m *Module) bool { return m.TLSConfig.ServerName != "" },
		"each MX host's certificate is checked against its own name"},
	{OptTLSScan, "tls_scan", func(m *Module) bool { return m.TLSScan }, "it tries TLS versions"},
}

// checkOptions refuses a field the module's kind does not take.
func checkOptions(m *Module, k Kind) error {
	for _, o := range optionFields {
		if !o.set(m) || k.Accepts(o.opt) {
			continue
		}
		msg := fmt.Sprintf("%s: not for prober %s, only for prober %s", o.field, k.Name, kindsWith(o.opt))
		if o.why != "" {
			msg += " (" + o.why + ")"
		}
		return errors.New(msg)
	}
	return nil
}

func checkTimeout(m *Module, _ Kind) error {
	if m.Timeout <= 0 {
		return fmt.Errorf("timeout: must be positive, got %s", m.Timeout)
	}
	return nil
}

func checkIPProtocol(m *Module, _ Kind) error {
	if m.PreferredIPProtocol != "ip4" && m.PreferredIPProtocol != "ip6" {
		return fmt.Errorf("preferred_ip_protocol: must be ip4 or ip6, got %q", m.PreferredIPProtocol)
	}
	return nil
}

func checkTLSVerification(m *Module, _ Kind) error {
	switch m.TLSVerification {
	case "", TLSStrict, TLSOpportunistic:
		return nil
	}
	return fmt.Errorf("tls_verification: must be %s or %s, got %q", TLSStrict, TLSOpportunistic, m.TLSVerification)
}

func checkResolver(m *Module, _ Kind) error {
	if m.DNSResolver == "" {
		return nil
	}
	if _, err := parseResolverAddr(m.DNSResolver); err != nil {
		return fmt.Errorf("dns_resolver: %w", err)
	}
	return nil
}

func checkSMTP(m *Module, _ Kind) error {
	s := m.SMTP
	if s.ExpectGreetingCode < 200 || s.ExpectGreetingCode > 599 {
		return fmt.Errorf("smtp.expect_greeting_code: must be an SMTP reply code (200-599), got %d", s.ExpectGreetingCode)
	}
	if strings.ContainsAny(s.EHLO, " \r\n") {
		return fmt.Errorf("smtp.ehlo: must be one domain or address literal, got %q", s.EHLO)
	}
	for _, f := range []struct{ field, addr string }{{"smtp.mail_from", s.MailFrom}, {"smtp.rcpt_to", s.RcptTo}} {
		if strings.ContainsAny(f.addr, "<> \r\n") {
			return fmt.Errorf("%s: must be a bare address without <>, spaces or line breaks, got %q", f.field, f.addr)
		}
	}
	if s.CheckAuthEnforced && (s.MailFrom == "" || s.RcptTo == "") {
		return errors.New("smtp.check_auth_enforced: needs smtp.mail_from and smtp.rcpt_to")
	}
	return nil
}

func checkAuth(m *Module, _ Kind) error {
	a := m.SMTP.Auth
	if a == nil {
		return nil
	}
	if a.Username == "" {
		return errors.New("smtp.auth.username: missing")
	}
	if a.UsesToken() {
		return checkTokenAuth(a)
	}
	set := 0
	for _, s := range []string{string(a.Password), a.PasswordFile, a.PasswordEnv} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return errors.New("smtp.auth.password: give exactly one of password, password_file or password_env")
	}
	if !slices.Contains(append([]string{""}, AuthMechanisms...), a.Mechanism) {
		return fmt.Errorf("smtp.auth.mechanism: must be %s, got %q", orList(append(slices.Clone(AuthMechanisms), TokenMechanisms...)), a.Mechanism)
	}
	// The file is read again at each probe; reading it here makes a wrong
	// path a load error. An unset password_env is not: the variable may
	// exist only where the exporter runs, not where --config.check does.
	if a.PasswordFile != "" {
		if _, err := ReadFile(a.PasswordFile, MaxSecretFileSize); err != nil {
			return fmt.Errorf("smtp.auth.password_file: %w", err)
		}
	}
	return nil
}

// checkTokenAuth checks credentials that are an OAuth2 bearer token
// (XOAUTH2, OAUTHBEARER): exactly one token source, no password.
func checkTokenAuth(a *Auth) error {
	if a.Mechanism != "" && !IsTokenMechanism(a.Mechanism) {
		return fmt.Errorf("smtp.auth.mechanism: %s takes a password; bearer_token_file and oauth2 are for %s", a.Mechanism, orList(TokenMechanisms))
	}
	if string(a.Password) != "" || a.PasswordFile != "" || a.PasswordEnv != "" {
		return errors.New("smtp.auth.password: not with a bearer token (mechanism XOAUTH2 or OAUTHBEARER, bearer_token_file, oauth2)")
	}
	if (a.BearerTokenFile != "") == (a.OAuth2 != nil) {
		return errors.New("smtp.auth.bearer_token_file: give exactly one of bearer_token_file or oauth2 for XOAUTH2 and OAUTHBEARER")
	}
	if strings.ContainsAny(a.Username, "\x00\x01\r\n") {
		return errors.New("smtp.auth.username: control characters cannot go into an XOAUTH2 or OAUTHBEARER message")
	}
	if a.BearerTokenFile != "" {
		// Read again at each probe; here a wrong path is a load error.
		if _, err := ReadFile(a.BearerTokenFile, MaxSecretFileSize); err != nil {
			return fmt.Errorf("smtp.auth.bearer_token_file: %w", err)
		}
		return nil
	}
	return checkOAuth2(a.OAuth2)
}

// oauth2Unsupported are the fields of prometheus/common's oauth2 block this
// exporter does not implement: the client-credentials grant only, no proxy.
var oauth2Unsupported = []struct {
	field string
	set   func(o *promconfig.OAuth2) bool
}{
	{"client_secret_ref", func(o *promconfig.OAuth2) bool { return o.ClientSecretRef != "" }},
	{"client_certificate_key_id", func(o *promconfig.OAuth2) bool { return o.ClientCertificateKeyID != "" }},
	{"client_certificate_key", func(o *promconfig.OAuth2) bool { return o.ClientCertificateKey != "" }},
	{"client_certificate_key_file", func(o *promconfig.OAuth2) bool { return o.ClientCertificateKeyFile != "" }},
	{"client_certificate_key_ref", func(o *promconfig.OAuth2) bool { return o.ClientCertificateKeyRef != "" }},
	{"signature_algorithm", func(o *promconfig.OAuth2) bool { return o.SignatureAlgorithm != "" }},
	{"iss", func(o *promconfig.OAuth2) bool { return o.Iss != "" }},
	{"audience", func(o *promconfig.OAuth2) bool { return o.Audience != "" }},
	{"claims", func(o *promconfig.OAuth2) bool { return len(o.Claims) > 0 }},
	{"proxy_url", func(o *promconfig.OAuth2) bool { return o.ProxyURL.URL != nil }},
	{"no_proxy", func(o *promconfig.OAuth2) bool { return o.NoProxy != "" }},
	{"proxy_from_environment", func(o *promconfig.OAuth2) bool { return o.ProxyFromEnvironment }},
	{"proxy_connect_header", func(o *promconfig.OAuth2) bool { return len(o.ProxyConnectHeader) > 0 }},
}

// checkOAuth2 checks the client-credentials block: an HTTPS token_url (the
// client secret never goes over plaintext), a client_id and one secret.
func checkOAuth2(o *promconfig.OAuth2) error {
	if o.GrantType != "" && o.GrantType != "client_credentials" {
		return fmt.Errorf("smtp.auth.oauth2.grant_type: only client_credentials, got %q", o.GrantType)
	}
	for _, u := range oauth2Unsupported {
		if u.set(o) {
			return fmt.Errorf("smtp.auth.oauth2.%s: not supported (client credentials with client_secret or client_secret_file, no proxy)", u.field)
		}
	}
	if o.ClientID == "" {
		return errors.New("smtp.auth.oauth2.client_id: missing")
	}
	if (string(o.ClientSecret) != "") == (o.ClientSecretFile != "") {
		return errors.New("smtp.auth.oauth2.client_secret: give exactly one of client_secret or client_secret_file")
	}
	u, err := url.Parse(o.TokenURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("smtp.auth.oauth2.token_url: must be an https:// URL, got %q", o.TokenURL)
	}
	if o.ClientSecretFile != "" {
		if _, err := ReadFile(o.ClientSecretFile, MaxSecretFileSize); err != nil {
			return fmt.Errorf("smtp.auth.oauth2.client_secret_file: %w", err)
		}
	}
	return nil
}

func checkSubmissionPorts(m *Module, _ Kind) error {
	seen := map[int]bool{}
	for i, p := range m.Submission.Ports {
		if p.Port < 1 || p.Port > 65535 {
			return fmt.Errorf("submission.ports[%d].port: must be 1-65535, got %d", i, p.Port)
		}
		if seen[p.Port] {
			return fmt.Errorf("submission.ports[%d].port: %d listed twice", i, p.Port)
		}
		seen[p.Port] = true
		if !dialogueOverTLS(p.Prober) {
			return fmt.Errorf("submission.ports[%d].prober: must be a prober of one server over TLS (starttls or tls), got %q", i, p.Prober)
		}
	}
	return nil
}

func checkMX(m *Module, k Kind) error {
	if !k.Accepts(OptMX) {
		return nil
	}
	if m.MX.Port < 1 || m.MX.Port > 65535 {
		return fmt.Errorf("mx.port: must be 1-65535, got %d", m.MX.Port)
	}
	if !m.MX.MTASTS && m.MX.MTASTSPort != 0 {
		return errors.New("mx.mta_sts_port: only with mx.mta_sts: true")
	}
	if m.MX.MTASTS && (m.MX.MTASTSPort < 1 || m.MX.MTASTSPort > 65535) {
		return fmt.Errorf("mx.mta_sts_port: must be 1-65535, got %d", m.MX.MTASTSPort)
	}
	return nil
}

// ehloKeyword is an EHLO keyword (RFC 5321 §4.1.1.1) as the prober keeps
// one: upper case, at most 64 bytes.
var ehloKeyword = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,63}$`)

// checkSMTPExpectations: the required extensions are EHLO keywords, each
// once and a bounded number of them; the regexps compiled.
func checkSMTPExpectations(m *Module, _ Kind) error {
	s := m.SMTP
	if len(s.RequireExtensions) > MaxRequiredExtensions {
		return fmt.Errorf("smtp.require_extensions: at most %d, got %d", MaxRequiredExtensions, len(s.RequireExtensions))
	}
	for i, e := range s.RequireExtensions {
		if !ehloKeyword.MatchString(e) {
			return fmt.Errorf("smtp.require_extensions[%d]: must be an EHLO keyword (letters, digits and -, at most 64), got %q", i, e)
		}
		if slices.Contains(s.RequireExtensions[:i], e) {
			return fmt.Errorf("smtp.require_extensions[%d]: %s listed twice", i, e)
		}
	}
	for _, f := range []struct {
		field string
		re    Regexp
	}{{"smtp.greeting_regexp", s.GreetingRegexp}, {"smtp.ehlo_regexp", s.EHLORegexp}} {
		if f.re.err != nil {
			return fmt.Errorf("%s: %w", f.field, f.re.err)
		}
	}
	return nil
}

// checkSourceAddresses: source_ip_address (the module's and each submission
// port's) is a unicast IP literal of the family preferred_ip_protocol names:
// a socket bound to it reaches only that family.
func checkSourceAddresses(m *Module, _ Kind) error {
	if err := checkSourceIP("source_ip_address", m.SourceIPAddress, m.PreferredIPProtocol); err != nil {
		return err
	}
	for i, p := range m.Submission.Ports {
		if err := checkSourceIP(fmt.Sprintf("submission.ports[%d].source_ip_address", i), p.SourceIPAddress, m.PreferredIPProtocol); err != nil {
			return err
		}
	}
	return nil
}

func checkSourceIP(field, s, preferred string) error {
	if s == "" {
		return nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return fmt.Errorf("%s: must be an IP address, got %q", field, s)
	}
	if ip.IsUnspecified() || ip.IsMulticast() {
		return fmt.Errorf("%s: must be a unicast address of this machine, got %s", field, s)
	}
	family := "ip6"
	if ip.Unmap().Is4() {
		family = "ip4"
	}
	if family != preferred {
		return fmt.Errorf("%s: %s is %s but preferred_ip_protocol is %s: set preferred_ip_protocol: %s", field, s, family, preferred, family)
	}
	return nil
}

// orList writes "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

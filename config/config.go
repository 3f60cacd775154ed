// Package config is what the user wrote: the YAML schema, its defaults and
// validation, and SafeConfig, which holds the loaded config across reloads.
package config

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"
)

// Config is the whole file.
type Config struct {
	// AllowedTargets, when set, limits /probe to these CIDRs, addresses,
	// host names and *.domain patterns (see AllowList).
	AllowedTargets []string          `yaml:"allowed_targets,omitempty"`
	Modules        map[string]Module `yaml:"modules"`
}

// Module is one named way to probe, chosen with ?module=.
type Module struct {
	Prober              string               `yaml:"prober"`
	Timeout             model.Duration       `yaml:"timeout"`
	SMTP                SMTP                 `yaml:"smtp"`
	TLSConfig           promconfig.TLSConfig `yaml:"tls_config"`
	PreferredIPProtocol string               `yaml:"preferred_ip_protocol"`
	IPProtocolFallback  bool                 `yaml:"ip_protocol_fallback"`
	Submission          Submission           `yaml:"submission,omitempty"`
	// DNSResolver is IP:PORT of the DNS server for every lookup of the
	// module; empty is the system's (/etc/resolv.conf).
	DNSResolver string `yaml:"dns_resolver,omitempty"`
	// AllAddresses probes every A and AAAA record of the target at once.
	AllAddresses bool `yaml:"all_addresses,omitempty"`
	// DANE checks the certificate against the host's TLSA records (RFC 7672).
	DANE bool `yaml:"dane,omitempty"`
	// TLSVerification says whether a certificate that does not verify fails
	// the probe: strict, or opportunistic (reported only, as senders on
	// port 25 deliver anyway unless DANE or MTA-STS enforce say otherwise).
	// Empty: opportunistic for port 25 and the mx prober, strict otherwise.
	TLSVerification string `yaml:"tls_verification,omitempty"`
	MX              MX     `yaml:"mx,omitempty"`
	// SourceIPAddress is the local address every connection of the module
	// is dialled from (an IP literal); empty: the system's choice.
	SourceIPAddress string `yaml:"source_ip_address,omitempty"`
	// TLSScan tries TLS 1.0 to 1.3 each on a connection of its own after
	// the dialogue, to report which versions the server accepts.
	TLSScan bool `yaml:"tls_scan,omitempty"`

	// Allowed is the config's allowed_targets, copied into each module at
	// load so the prober can check the address it is about to dial.
	Allowed *AllowList `yaml:"-"`

	// tls is built once per load: reading and parsing the CA file on every
	// probe cost several percent of a probe's CPU.
	tls *tlsCache
}

type tlsCache struct {
	once sync.Once
	cfg  *tls.Config
	err  error
}

// ClientTLS returns the module's TLS client config, built from tls_config
// once per config load. Callers must Clone it before changing it.
func (m Module) ClientTLS() (*tls.Config, error) {
	if m.tls == nil {
		return newClientTLS(m.TLSConfig)
	}
	m.tls.once.Do(func() { m.tls.cfg, m.tls.err = newClientTLS(m.TLSConfig) })
	return m.tls.cfg, m.tls.err
}

// SMTP holds what the dialogue says and expects.
type SMTP struct {
	EHLO                string `yaml:"ehlo"`
	ExpectGreetingCode  int    `yaml:"expect_greeting_code"`
	FailIfAuthBeforeTLS bool   `yaml:"fail_if_auth_before_tls"`
	Auth                *Auth  `yaml:"auth,omitempty"`
	CheckAuthEnforced   bool   `yaml:"check_auth_enforced"`
	MailFrom            string `yaml:"mail_from"`
	RcptTo              string `yaml:"rcpt_to"`
	// RequireExtensions are EHLO keywords (upper case) the EHLO that counts
	// must advertise; at most MaxRequiredExtensions.
	RequireExtensions []string `yaml:"require_extensions,omitempty"`
	// GreetingRegexp must match the greeting's text, EHLORegexp the text of
	// the EHLO reply that counts: each line without its code, joined by "\n".
	GreetingRegexp Regexp `yaml:"greeting_regexp,omitempty"`
	EHLORegexp     Regexp `yaml:"ehlo_regexp,omitempty"`
}

// MaxRequiredExtensions bounds smtp.require_extensions, and so the
// extension label's values.
const MaxRequiredExtensions = 32

// Auth is the credentials for AUTH after TLS. The password comes from
// exactly one of Password, PasswordFile or PasswordEnv.
type Auth struct {
	Username     string            `yaml:"username"`
	Password     promconfig.Secret `yaml:"password,omitempty"`
	PasswordFile string            `yaml:"password_file,omitempty"`
	PasswordEnv  string            `yaml:"password_env,omitempty"`
	// Mechanism forces PLAIN, LOGIN or CRAM-MD5 (a password), XOAUTH2 or
	// OAUTHBEARER (a token); empty picks the strongest advertised of its kind.
	Mechanism string `yaml:"mechanism,omitempty"`
	// The OAuth2 bearer token for XOAUTH2 and OAUTHBEARER comes from exactly
	// one of BearerTokenFile (read at each probe) or OAuth2 (client
	// credentials, fetched and cached until it expires: see oauth2.go).
	BearerTokenFile string             `yaml:"bearer_token_file,omitempty"`
	OAuth2          *promconfig.OAuth2 `yaml:"oauth2,omitempty"`

	// tokens is OAuth2's token source, built once per load: the module is
	// copied per probe, the token cache must not be.
	tokens *tokenSource
}

// The values of tls_verification.
const (
	TLSStrict        = "strict"
	TLSOpportunistic = "opportunistic"
)

// AuthMechanisms are the SASL mechanisms spoken, in order of preference
// when the module names none.
var AuthMechanisms = []string{"CRAM-MD5", "PLAIN", "LOGIN"}

// Submission lists the ports of the submission prober in order of preference.
type Submission struct {
	Ports []SubmissionPort `yaml:"ports,omitempty"`
}

// SubmissionPort is one port of the submission picture and how to speak TLS on it.
type SubmissionPort struct {
	Port   int    `yaml:"port"`
	Prober string `yaml:"prober"` // starttls or tls
	// SourceIPAddress overrides the module's source_ip_address on this port.
	SourceIPAddress string `yaml:"source_ip_address,omitempty"`
}

// DefaultSubmissionPorts is the decision rule: 587 STARTTLS, then 465 implicit TLS, then 2525.
var DefaultSubmissionPorts = []SubmissionPort{
	{Port: 587, Prober: "starttls"},
	{Port: 465, Prober: "tls"},
	{Port: 2525, Prober: "starttls"},
}

// DefaultModule carries the defaults every module starts from.
var DefaultModule = Module{
	Timeout:             model.Duration(10 * time.Second),
	PreferredIPProtocol: "ip4",
	IPProtocolFallback:  true,
	SMTP:                DefaultSMTP,
}

// DefaultSMTP is the dialogue's defaults; EHLO empty means the machine's hostname.
var DefaultSMTP = SMTP{
	ExpectGreetingCode: 220,
	MailFrom:           "probe@example.com",
	RcptTo:             "probe@example.invalid",
}

// UnmarshalYAML applies the defaults before the user's values, and after
// them the defaults that depend on the prober kind. Defaults live here only.
func (m *Module) UnmarshalYAML(unmarshal func(any) error) error {
	*m = DefaultModule
	type plain Module
	if err := unmarshal((*plain)(m)); err != nil {
		return err
	}
	m.fillDefaults()
	return nil
}

// fillDefaults sets what the user left out and the kind decides, and
// normalises spellings the checks then compare.
func (m *Module) fillDefaults() {
	k, _ := KindOf(m.Prober)
	if k.Accepts(OptSubmissionPorts) && len(m.Submission.Ports) == 0 {
		m.Submission.Ports = slices.Clone(DefaultSubmissionPorts)
	}
	if k.Opportunistic && m.TLSVerification == "" {
		m.TLSVerification = TLSOpportunistic
	}
	if k.Accepts(OptMX) && m.MX.Port == 0 {
		m.MX.Port = k.DefaultPort
	}
	if m.MX.MTASTS && m.MX.MTASTSPort == 0 {
		m.MX.MTASTSPort = DefaultMTASTSPort
	}
	if m.PreferredIPProtocol == "" {
		m.PreferredIPProtocol = DefaultModule.PreferredIPProtocol
	}
	if addr, err := parseResolverAddr(m.DNSResolver); err == nil {
		m.DNSResolver = addr
	}
	if a := m.SMTP.Auth; a != nil {
		a.Mechanism = strings.ToUpper(a.Mechanism)
	}
	for i, e := range m.SMTP.RequireExtensions {
		m.SMTP.RequireExtensions[i] = strings.ToUpper(e)
	}
}

// UnmarshalYAML applies the defaults before the user's values.
func (s *SMTP) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultSMTP
	type plain SMTP
	return unmarshal((*plain)(s))
}

// UnmarshalYAML decodes each module on its own, so that an error from a
// field's own parser (a timeout of "-1s" says only `not a valid duration
// string`) still names its module and field, like the validation errors do.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	var raw configFile
	if err := unmarshal(&raw); err != nil {
		return err
	}
	c.AllowedTargets = raw.AllowedTargets
	c.Modules = make(map[string]Module, len(raw.Modules))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(raw.Modules)) {
		d := raw.Modules[name]
		if d.err != nil {
			errs = append(errs, fmt.Errorf("module %q: %w", name, d.err))
		}
		c.Modules[name] = d.m
	}
	return errors.Join(errs...)
}

// configFile is Config as decoded, each module with its own decoding error.
type configFile struct {
	AllowedTargets []string                 `yaml:"allowed_targets"`
	Modules        map[string]moduleDecoder `yaml:"modules"`
}

type moduleDecoder struct {
	m   Module
	err error
}

func (d *moduleDecoder) UnmarshalYAML(unmarshal func(any) error) error {
	var fields map[string]any
	if unmarshal(&fields) == nil && fields["timeout"] != nil {
		if _, err := model.ParseDuration(fmt.Sprint(fields["timeout"])); err != nil {
			d.err = fmt.Errorf("timeout: %w", err)
			return nil
		}
	}
	d.err = unmarshal(&d.m)
	return nil
}

// builtinYAML is the config used when no --config.file is given: one module
// per kind a bare request may pick, named after it.
const builtinYAML = `
modules:
  tcp: {prober: tcp}
  starttls: {prober: starttls}
  tls: {prober: tls}
  submission: {prober: submission}
  mx: {prober: mx}
`

// Builtin is the config used when no --config.file is given.
func Builtin() *Config {
	c, err := Parse([]byte(builtinYAML))
	if err != nil {
		panic("built-in config is invalid: " + err.Error())
	}
	return c
}

// Parse reads a config from YAML, rejecting unknown keys, and validates it.
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Load reads and parses a config file.
func Load(path string) (*Config, error) {
	data, err := ReadFile(path, MaxConfigFileSize)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// YAML renders the config with secrets as <secret>.
func (c *Config) YAML() []byte {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(c); err != nil {
		return []byte("# cannot render config: " + err.Error() + "\n")
	}
	_ = enc.Close()
	return buf.Bytes()
}

// YAML renders one module with secrets as <secret>.
func (m Module) YAML() []byte {
	out, err := yaml.Marshal(m)
	if err != nil {
		return []byte("# cannot render module: " + err.Error() + "\n")
	}
	return out
}

// ModuleNames lists the modules sorted, for pages and messages.
func (c *Config) ModuleNames() []string {
	names := make([]string, 0, len(c.Modules))
	for n := range c.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReadPassword returns the password from wherever the config says it lives.
// It is read per probe so a rotated file takes effect without a reload. An
// error (the file is gone, not a regular file, over MaxSecretFileSize; the
// variable is unset) names the path or variable, never the content.
func (a *Auth) ReadPassword() (string, error) {
	switch {
	case a.PasswordFile != "":
		b, err := ReadFile(a.PasswordFile, MaxSecretFileSize)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case a.PasswordEnv != "":
		v, ok := os.LookupEnv(a.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("password_env: variable %s is not set", a.PasswordEnv)
		}
		return v, nil
	default:
		return string(a.Password), nil
	}
}

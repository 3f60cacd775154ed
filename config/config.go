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

// ProberNames is the one list of prober names: config validation uses it and
// a test in prober/ asserts each has an implementation.
var ProberNames = []string{"tcp", "starttls", "tls", "submission", "mx"}

// DefaultPorts is the port a prober dials when the target names none.
// The submission prober takes a host only, the mx prober a domain only.
var DefaultPorts = map[string]int{"tcp": 25, "starttls": 587, "tls": 465}

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
	MX   MX   `yaml:"mx,omitempty"`

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
}

// Auth is the credentials for AUTH after TLS. The password comes from
// exactly one of Password, PasswordFile or PasswordEnv.
type Auth struct {
	Username     string            `yaml:"username"`
	Password     promconfig.Secret `yaml:"password,omitempty"`
	PasswordFile string            `yaml:"password_file,omitempty"`
	PasswordEnv  string            `yaml:"password_env,omitempty"`
	// Mechanism forces PLAIN, LOGIN or CRAM-MD5; empty picks the strongest advertised.
	Mechanism string `yaml:"mechanism,omitempty"`
}

// Submission lists the ports of the submission prober in order of preference.
type Submission struct {
	Ports []SubmissionPort `yaml:"ports,omitempty"`
}

// SubmissionPort is one port of the submission picture and how to speak TLS on it.
type SubmissionPort struct {
	Port   int    `yaml:"port"`
	Prober string `yaml:"prober"` // starttls or tls
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

// UnmarshalYAML applies the defaults before the user's values.
func (m *Module) UnmarshalYAML(unmarshal func(any) error) error {
	*m = DefaultModule
	type plain Module
	return unmarshal((*plain)(m))
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

// Builtin is the config used when no --config.file is given.
func Builtin() *Config {
	mod := func(prober string) Module {
		m := DefaultModule
		m.Prober = prober
		return m
	}
	c := &Config{Modules: map[string]Module{
		"tcp":        mod("tcp"),
		"starttls":   mod("starttls"),
		"tls":        mod("tls"),
		"submission": mod("submission"),
	}}
	if err := c.validate(); err != nil {
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
		m.Allowed = allowed
		c.Modules[name] = m
	}
	return errors.Join(errs...)
}

func (m *Module) validate() error {
	if m.Prober == "" {
		return fmt.Errorf("prober: missing (one of %s)", strings.Join(ProberNames, ", "))
	}
	if !slices.Contains(ProberNames, m.Prober) {
		return fmt.Errorf("prober: unknown prober %q (one of %s)", m.Prober, strings.Join(ProberNames, ", "))
	}
	if m.Timeout <= 0 {
		return fmt.Errorf("timeout: must be positive, got %s", m.Timeout)
	}
	if err := m.validatePort25(); err != nil {
		return err
	}
	switch m.PreferredIPProtocol {
	case "ip4", "ip6":
	case "":
		m.PreferredIPProtocol = "ip4"
	default:
		return fmt.Errorf("preferred_ip_protocol: must be ip4 or ip6, got %q", m.PreferredIPProtocol)
	}
	if c := m.SMTP.ExpectGreetingCode; c < 200 || c > 599 {
		return fmt.Errorf("smtp.expect_greeting_code: must be an SMTP reply code (200-599), got %d", c)
	}
	if strings.ContainsAny(m.SMTP.EHLO, " \r\n") {
		return fmt.Errorf("smtp.ehlo: must be one domain or address literal, got %q", m.SMTP.EHLO)
	}
	for field, addr := range map[string]string{"smtp.mail_from": m.SMTP.MailFrom, "smtp.rcpt_to": m.SMTP.RcptTo} {
		if strings.ContainsAny(addr, "<> \r\n") {
			return fmt.Errorf("%s: must be a bare address without <>, spaces or line breaks, got %q", field, addr)
		}
	}
	if m.SMTP.CheckAuthEnforced && (m.SMTP.MailFrom == "" || m.SMTP.RcptTo == "") {
		return errors.New("smtp.check_auth_enforced: needs smtp.mail_from and smtp.rcpt_to")
	}
	if a := m.SMTP.Auth; a != nil {
		if err := a.validate(); err != nil {
			return fmt.Errorf("smtp.auth.%w", err)
		}
	}
	if m.Prober == "tcp" && (m.SMTP.Auth != nil || m.SMTP.CheckAuthEnforced) {
		return errors.New("smtp.auth and smtp.check_auth_enforced need TLS: use prober starttls, tls or submission (credentials never go over plaintext)")
	}
	if m.SMTP.FailIfAuthBeforeTLS && m.Prober != "starttls" && m.Prober != "submission" {
		return fmt.Errorf("smtp.fail_if_auth_before_tls: only for prober starttls or submission, not %s", m.Prober)
	}
	// Building the TLS config here catches unreadable CA and client certificate files at load time.
	m.tls = &tlsCache{}
	if _, err := m.ClientTLS(); err != nil {
		return err
	}
	if m.Prober == "submission" {
		if len(m.Submission.Ports) == 0 {
			m.Submission.Ports = slices.Clone(DefaultSubmissionPorts)
		}
		seen := map[int]bool{}
		for i, p := range m.Submission.Ports {
			if p.Port < 1 || p.Port > 65535 {
				return fmt.Errorf("submission.ports[%d].port: must be 1-65535, got %d", i, p.Port)
			}
			if seen[p.Port] {
				return fmt.Errorf("submission.ports[%d].port: %d listed twice", i, p.Port)
			}
			seen[p.Port] = true
			if p.Prober != "starttls" && p.Prober != "tls" {
				return fmt.Errorf("submission.ports[%d].prober: must be starttls or tls, got %q", i, p.Prober)
			}
		}
	} else if len(m.Submission.Ports) > 0 {
		return fmt.Errorf("submission.ports: only for prober submission, not %s", m.Prober)
	}
	return nil
}

func (a *Auth) validate() error {
	if a.Username == "" {
		return errors.New("username: missing")
	}
	set := 0
	for _, s := range []string{string(a.Password), a.PasswordFile, a.PasswordEnv} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return errors.New("password: give exactly one of password, password_file or password_env")
	}
	switch strings.ToUpper(a.Mechanism) {
	case "", "PLAIN", "LOGIN", "CRAM-MD5":
		a.Mechanism = strings.ToUpper(a.Mechanism)
	default:
		return fmt.Errorf("mechanism: must be PLAIN, LOGIN or CRAM-MD5, got %q", a.Mechanism)
	}
	// The file is read again at each probe; reading it here makes a wrong
	// path a load error. An unset password_env is not: the variable may
	// exist only where the exporter runs, not where --config.check does.
	if a.PasswordFile != "" {
		if _, err := ReadFile(a.PasswordFile, MaxSecretFileSize); err != nil {
			return fmt.Errorf("password_file: %w", err)
		}
	}
	return nil
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

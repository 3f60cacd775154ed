package config

import (
	"strings"
	"testing"
)

func TestPort25Defaults(t *testing.T) {
	c, err := Parse([]byte(`
modules:
  mx:
    prober: mx
  mx_sts:
    prober: mx
    dns_resolver: 127.0.0.1
    mx: {mta_sts: true}
  v6_resolver:
    prober: starttls
    dane: true
    all_addresses: true
    dns_resolver: "[::1]:5353"
`))
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Modules["mx"]; m.MX != (MX{Port: 25}) || m.DANE || m.AllAddresses || m.DNSResolver != "" {
		t.Errorf("mx defaults: %+v", m)
	}
	if m := c.Modules["mx_sts"]; m.MX != (MX{Port: 25, MTASTS: true, MTASTSPort: 443}) || m.DNSResolver != "127.0.0.1:53" {
		t.Errorf("mx_sts: mx %+v, dns_resolver %q", m.MX, m.DNSResolver)
	}
	if m := c.Modules["v6_resolver"]; m.DNSResolver != "[::1]:5353" || !m.DANE || !m.AllAddresses {
		t.Errorf("v6_resolver: %+v", m)
	}
	// The mx block stays out of other modules' YAML.
	if y := string(c.Modules["v6_resolver"].YAML()); strings.Contains(y, "mx:") {
		t.Errorf("starttls module renders an mx block:\n%s", y)
	}
}

// TestPort25Validation: each message names the module and the field.
func TestPort25Validation(t *testing.T) {
	for _, tc := range []struct {
		name string
		yml  string // the body of module "m"
		want []string
	}{
		{"resolver name", "prober: tcp\ndns_resolver: dns.example.com:53", []string{"dns_resolver", "not a name"}},
		{"resolver garbage", "prober: tcp\ndns_resolver: 'x y'", []string{"dns_resolver", "IP or IP:PORT"}},
		{"resolver port 0", "prober: tcp\ndns_resolver: 127.0.0.1:0", []string{"dns_resolver", "1-65535"}},
		{"all_addresses on submission", "prober: submission\nall_addresses: true", []string{"all_addresses", "submission"}},
		{"dane on tls", "prober: tls\ndane: true", []string{"dane", "starttls or mx", "tls"}},
		{"dane on tcp", "prober: tcp\ndane: true", []string{"dane", "tcp"}},
		{"mx block on starttls", "prober: starttls\nmx: {port: 25}", []string{"mx:", "only for prober mx", "starttls"}},
		{"mx port too big", "prober: mx\nmx: {port: 70000}", []string{"mx.port", "70000"}},
		{"mx negative port", "prober: mx\nmx: {port: -1}", []string{"mx.port", "-1"}},
		{"mta_sts_port without mta_sts", "prober: mx\nmx: {mta_sts_port: 8443}", []string{"mx.mta_sts_port", "mx.mta_sts"}},
		{"mta_sts_port too big", "prober: mx\nmx: {mta_sts: true, mta_sts_port: 70000}", []string{"mx.mta_sts_port", "70000"}},
		{"auth on mx", "prober: mx\nsmtp:\n  auth: {username: u, password: p}", []string{"smtp.auth", "prober mx"}},
		{"server_name on mx", "prober: mx\ntls_config: {server_name: mx.example.com}", []string{"tls_config.server_name", "prober mx"}},
		{"fail_if_auth_before_tls on mx", "prober: mx\nsmtp: {fail_if_auth_before_tls: true}", []string{"smtp.fail_if_auth_before_tls", "mx"}},
		{"unknown key in mx", "prober: mx\nmx: {ports: 25}", []string{"ports"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yml := "modules:\n  ok:\n    prober: mx\n  m:\n" + indent(tc.yml, "    ")
			_, err := Parse([]byte(yml))
			if err == nil {
				t.Fatalf("accepted:\n%s", yml)
			}
			for _, w := range append([]string{`module "m"`}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

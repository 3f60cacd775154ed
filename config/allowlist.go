package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// AllowList is the optional top-level allowed_targets: without it any
// target may be probed; with it, only those it names, so /probe cannot be
// turned against the exporter's own network (SSRF).
type AllowList struct {
	prefixes []netip.Prefix
	names    []string // lower case; "*.example.com" matches any name below example.com
}

// parseAllowList reads entries that are CIDRs, IP addresses, host names or
// "*.domain" patterns.
func parseAllowList(entries []string) (*AllowList, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	a := &AllowList{}
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			a.prefixes = append(a.prefixes, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(e); err == nil {
			a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(e, "."))
		rest := strings.TrimPrefix(name, "*.")
		if rest == "" || strings.Contains(rest, "*") || strings.ContainsAny(rest, "/: ") {
			return nil, fmt.Errorf("allowed_targets[%d]: %q is not a CIDR, an IP address, a host name or a *.domain pattern", i, entries[i])
		}
		a.names = append(a.names, name)
	}
	return a, nil
}

// AllowsName reports whether a host name is listed by name or pattern.
func (a *AllowList) AllowsName(host string) bool {
	if a == nil {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range a.names {
		if domain, ok := strings.CutPrefix(n, "*."); ok {
			if strings.HasSuffix(host, "."+domain) {
				return true
			}
		} else if host == n {
			return true
		}
	}
	return false
}

// AllowsAddr reports whether a resolved address lies in a listed network.
func (a *AllowList) AllowsAddr(ip netip.Addr) bool {
	if a == nil {
		return true
	}
	ip = ip.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Allows is the rule: a target given by a listed name is allowed; any other
// target is allowed only when the address it resolved to, the one about to
// be dialled, lies in a listed network. So DNS cannot smuggle in an address.
func (a *AllowList) Allows(host string, resolved netip.Addr) bool {
	return a == nil || a.AllowsName(host) || a.AllowsAddr(resolved)
}

package prober

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParseTarget reads HOST, HOST:PORT, [IPv6]:PORT, [IPv6] or a bare IPv6
// literal. Port is 0 when none is given.
func ParseTarget(s string) (Target, error) {
	if s == "" {
		return Target{}, errors.New("target is empty")
	}
	if len(s) > 300 {
		return Target{}, errors.New("target is longer than 300 characters")
	}
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return Target{}, fmt.Errorf("target %q: missing ] after IPv6 address", s)
		}
		host, rest := s[1:end], s[end+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return Target{}, fmt.Errorf("target %q: %q in brackets is not an IPv6 address", s, host)
		}
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return Target{}, fmt.Errorf("target %q: unexpected %q after ]", s, rest)
			}
			return withPort(s, host, rest[1:])
		}
		return Target{Host: host}, nil
	case strings.Count(s, ":") > 1:
		if net.ParseIP(s) == nil {
			return Target{}, fmt.Errorf("target %q: not an IPv6 address; write [IPv6]:PORT", s)
		}
		return Target{Host: s}, nil
	case strings.Contains(s, ":"):
		i := strings.LastIndexByte(s, ':')
		host, portStr = s[:i], s[i+1:]
		if err := checkHost(s, host); err != nil {
			return Target{}, err
		}
		return withPort(s, host, portStr)
	}
	if err := checkHost(s, host); err != nil {
		return Target{}, err
	}
	return Target{Host: host}, nil
}

func withPort(s, host, portStr string) (Target, error) {
	port, err := strconv.Atoi(portStr)
	if err != nil || strings.ContainsAny(portStr, "+-") {
		return Target{}, fmt.Errorf("target %q: port %q is not a number", s, portStr)
	}
	if port < 1 || port > 65535 {
		return Target{}, fmt.Errorf("target %q: port %d out of range 1-65535", s, port)
	}
	return Target{Host: host, Port: port}, nil
}

// checkHost accepts an IPv4 literal or a DNS name (letters, digits, '-', '_', '.').
func checkHost(s, host string) error {
	if host == "" {
		return fmt.Errorf("target %q: host is empty", s)
	}
	if len(host) > 253 {
		return fmt.Errorf("target %q: host name longer than 253 characters", s)
	}
	for _, r := range host {
		ok := r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return fmt.Errorf("target %q: host contains %q; give HOST[:PORT] without a scheme or path", s, r)
		}
	}
	return nil
}

func (t Target) String() string {
	if t.Port == 0 {
		return t.Host
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

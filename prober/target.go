package prober

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseTarget reads HOST, HOST:PORT, [IPv6]:PORT, [IPv6] or a bare IPv6
// literal. Port is 0 when none is given.
func ParseTarget(s string) (Target, error) {
	if s == "" {
		return Target{}, errors.New("target is empty")
	}
	if len(s) > 300 {
		return Target{}, fmt.Errorf("target %s is longer than 300 characters", QuoteInput(s))
	}
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return Target{}, fmt.Errorf("target %s: missing ] after IPv6 address", QuoteInput(s))
		}
		host, rest := s[1:end], s[end+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return Target{}, fmt.Errorf("target %s: %s in brackets is not an IPv6 address", QuoteInput(s), QuoteInput(host))
		}
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return Target{}, fmt.Errorf("target %s: unexpected %s after ]", QuoteInput(s), QuoteInput(rest))
			}
			return withPort(s, host, rest[1:])
		}
		return Target{Host: host}, nil
	case strings.Count(s, ":") > 1:
		if net.ParseIP(s) == nil {
			return Target{}, fmt.Errorf("target %s: not an IPv6 address; write [IPv6]:PORT", QuoteInput(s))
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
		return Target{}, fmt.Errorf("target %s: port %s is not a number", QuoteInput(s), QuoteInput(portStr))
	}
	if port < 1 || port > 65535 {
		return Target{}, fmt.Errorf("target %s: port %d out of range 1-65535", QuoteInput(s), port)
	}
	return Target{Host: host, Port: port}, nil
}

// checkHost accepts an IPv4 literal or a DNS name (letters, digits, '-', '_', '.').
func checkHost(s, host string) error {
	if host == "" {
		return fmt.Errorf("target %s: host is empty", QuoteInput(s))
	}
	if len(host) > 253 {
		return fmt.Errorf("target %s: host name longer than 253 characters", QuoteInput(s))
	}
	for _, r := range host {
		ok := r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return fmt.Errorf("target %s: host contains %q; give HOST[:PORT] without a scheme or path", QuoteInput(s), r)
		}
	}
	return nil
}

// quotedInputBytes is how much of a user's input an error message quotes.
const quotedInputBytes = 64

// QuoteInput quotes user input for an error message, such as the one-line
// body of a 400: escaped, and cut to its first 64 bytes (at a character
// boundary) followed by "…", so an answer never echoes a megabyte back.
func QuoteInput(s string) string {
	if len(s) <= quotedInputBytes {
		return strconv.Quote(s)
	}
	n := quotedInputBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}

func (t Target) String() string {
	if t.Port == 0 {
		return t.Host
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

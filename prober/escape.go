package prober

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// EscapeText makes text a server chose safe to show on a terminal or a
// page: control characters (C0 with ESC and NUL, DEL, C1), other runes that
// are not printable, and bytes that are not UTF-8 become \xNN, one per
// byte; printable UTF-8 ("Grüße") stays as it is. Escaped text has only
// printable runes, so escaping it again changes nothing.
func EscapeText(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s // plain printable ASCII: the usual case, no copy
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || !strconv.IsPrint(r) {
			for _, c := range []byte(s[i : i+n]) {
				const hex = "0123456789abcdef"
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// clipText cuts s to at most n bytes, on a rune boundary where s is UTF-8,
// marking the cut with "…".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > n-utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

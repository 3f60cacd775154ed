package prober

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
)

// FuzzReadReply feeds arbitrary server bytes to the reply reader: it must
// return a reply or an error, never panic, and never hold more than the bounds allow.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"220 mail.example.com ESMTP Postfix\r\n",
		"220-first\r\n220-second\r\n220 last\r\n",
		"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n",
		"421 4.3.2 shutting down\n",
		"220-a\r\n221 b\r\n",
		"2",
		"HTTP/1.1 400 Bad Request\r\n",
		strings.Repeat("x", 5000),
		"220\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{r: bufio.NewReaderSize(bytes.NewReader(data), 4096), logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		rep, err := c.readReply()
		if err != nil {
			return
		}
		if rep.code < 200 || rep.code > 599 || len(rep.lines) == 0 || len(rep.lines) > maxReplyLines {
			t.Fatalf("accepted an impossible reply: %+v", rep)
		}
		for _, l := range rep.lines {
			if len(l) > maxLineBytes {
				t.Fatalf("line of %d bytes accepted", len(l))
			}
		}
	})
}

// FuzzParseEHLO checks the capability parser on arbitrary extension lines.
func FuzzParseEHLO(f *testing.F) {
	f.Add("mail.example.com\nPIPELINING\nSIZE 10240000\nAUTH PLAIN LOGIN\nAUTH=PLAIN\nSTARTTLS")
	f.Add("x\nSIZE\nSIZE -1\nSIZE 99999999999999999999")
	f.Add("")
	f.Add("x\nauth=login plain\nAUTH=\n  SIZE\t 10 \nSTARTTLS\u00a0x\nsTaRtTlS\n\xff\xfe y")
	f.Fuzz(func(t *testing.T, text string) {
		caps := parseEHLO(reply{code: 250, lines: strings.Split(text, "\n")})
		if want := fieldsParseEHLO(reply{code: 250, lines: strings.Split(text, "\n")}); !maps.EqualFunc(caps, want, slices.Equal) {
			t.Fatalf("parseEHLO = %q, strings.Fields would give %q", caps, want)
		}
		if n, ok := caps.size(); ok && n < 0 {
			t.Fatalf("negative size %d", n)
		}
		for kw := range caps {
			if kw != strings.ToUpper(kw) {
				t.Fatalf("keyword %q not upper case", kw)
			}
		}
	})
}

// FuzzParseTarget checks that any accepted target has a host and a valid port.
func FuzzParseTarget(f *testing.F) {
	for _, seed := range []string{"smtp.example.com", "smtp.example.com:587", "[::1]:465", "::1", "[::1]", "1.2.3.4:0", "host:99999", "smtp://x", "[::1", "a:b:c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tgt, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tgt.Host == "" || tgt.Port < 0 || tgt.Port > 65535 {
			t.Fatalf("ParseTarget(%q) = %+v", s, tgt)
		}
		again, err := ParseTarget(tgt.String())
		if err != nil || again != tgt {
			t.Fatalf("round trip of %q: %+v → %q → %+v, %v", s, tgt, tgt.String(), again, err)
		}
	})
}

// fieldsParseEHLO is parseEHLO as it was written with strings.Fields, the
// reference the allocation-free parser must agree with.
func fieldsParseEHLO(rep reply) capabilities {
	caps := capabilities{}
	params := 0
	for _, line := range rep.lines[min(1, len(rep.lines)):] {
		fields := strings.Fields(line)
		if len(fields) == 0 || len(fields[0]) > maxCapabilityBytes {
			continue
		}
		kw := strings.ToUpper(fields[0])
		if strings.HasPrefix(kw, "AUTH=") {
			fields = append([]string{"AUTH", fields[0][5:]}, fields[1:]...)
			kw = "AUTH"
		}
		if _, ok := caps[kw]; !ok {
			caps[kw] = nil
		}
		for _, p := range fields[1:] {
			if params == maxCapabilityParams {
				break
			}
			if len(p) <= maxCapabilityBytes {
				caps[kw] = append(caps[kw], strings.ToUpper(p))
				params++
			}
		}
	}
	return caps
}

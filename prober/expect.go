package prober

import (
	"fmt"
	"strings"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// Extension is one name of smtp.require_extensions and whether the EHLO
// that counts advertised it.
type Extension struct {
	Name       string
	Advertised bool
}

// replyText is what smtp.greeting_regexp and smtp.ehlo_regexp match: each
// line of the reply without its code and separator, joined by "\n".
func replyText(rep reply) string { return strings.Join(rep.lines, "\n") }

// expectGreeting checks the greeting's text against smtp.greeting_regexp.
func (d *dialogue) expectGreeting(rep reply) *Failure {
	re := d.mod.SMTP.GreetingRegexp
	if re.Matches(replyText(rep)) {
		return nil
	}
	return failWith(PhaseGreeting, ReasonUnexpectedText, 0, unmatched("greeting", "smtp.greeting_regexp", re, rep))
}

// expectEHLO runs on the EHLO that counts: it records each required
// extension, then fails when one is missing or smtp.ehlo_regexp does not match.
func (d *dialogue) expectEHLO(rep reply) *Failure {
	required := d.mod.SMTP.RequireExtensions
	if len(required) > 0 {
		d.res.Extensions = make([]Extension, len(required))
	}
	var missing []string
	for i, name := range required {
		d.res.Extensions[i] = Extension{Name: name, Advertised: d.caps.has(name)}
		if !d.res.Extensions[i].Advertised {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return failWith(PhaseEHLO, ReasonExtensionMissing, 0,
			fmt.Errorf("smtp.require_extensions not advertised on the EHLO that counts: %s", strings.Join(missing, ", ")))
	}
	if re := d.mod.SMTP.EHLORegexp; !re.Matches(replyText(rep)) {
		return failWith(PhaseEHLO, ReasonUnexpectedText, 0, unmatched("EHLO reply", "smtp.ehlo_regexp", re, rep))
	}
	return nil
}

// unmatched says which text did not match which pattern; the server's text
// is escaped and clipped, as in every error.
func unmatched(what, field string, re config.Regexp, rep reply) error {
	return fmt.Errorf("%s does not match %s %q: %s", what, field, re.String(), EscapeText(clipText(replyText(rep), maxErrorText)))
}

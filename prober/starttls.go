package prober

import (
	"context"
	"log/slog"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// ProbeStartTLS is submission on 587 (RFC 3207): plaintext greeting and EHLO,
// STARTTLS, handshake, the DANE check (dane: true), EHLO again, the optional
// auth checks, QUIT.
func ProbeStartTLS(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result {
	d := newDialogue(ctx, t, m, logger)
	return d.run(d.greeting, d.ehlo, d.startTLS, d.handshake, d.dane, d.ehlo, d.checkAuthEnforced, d.auth, d.quit)
}

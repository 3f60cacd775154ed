package prober

import (
	"context"
	"log/slog"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// ProbeTLS is implicit TLS from the first byte (port 465, RFC 8314): handshake,
// greeting, EHLO, the optional auth checks, QUIT.
func ProbeTLS(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result {
	d := newDialogue(ctx, t, m, logger)
	return d.run(d.handshake, d.greeting, d.ehlo, d.checkAuthEnforced, d.auth, d.quit)
}

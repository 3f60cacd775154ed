package prober

import (
	"context"
	"log/slog"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// ProbeTCP is plain SMTP: connect, greeting, EHLO, QUIT.
func ProbeTCP(ctx context.Context, t Target, m config.Module, logger *slog.Logger) *Result {
	d := newDialogue(ctx, t, m, logger)
	return d.run(d.greeting, d.ehlo, d.quit)
}

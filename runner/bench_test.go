package runner

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
)

// BenchmarkProbeLog is the logging of one STARTTLS probe as the exporter
// runs it by default (process log at info, --log.prober=debug: no probe
// record reaches the process log): the runner's records, the dialogue's
// lines as the prober writes them (without the caller's look-up, which
// the handler says it does not need), then the transcript the history keeps.
func BenchmarkProbeLog(b *testing.B) {
	process := promslog.New(&promslog.Config{})
	lines := []string{"S: 220 mx.example.test ESMTP ready", "C: EHLO bench.test", "S: 250-mx.example.test",
		"S: 250-PIPELINING", "S: 250-SIZE 10240000", "S: 250-STARTTLS", "S: 250-ENHANCEDSTATUSCODES", "S: 250 8BITMIME",
		"C: STARTTLS", "S: 220 2.0.0 Ready to start TLS", "C: EHLO bench.test", "S: 250-mx.example.test",
		"S: 250-PIPELINING", "S: 250-SIZE 10240000", "S: 250-ENHANCEDSTATUSCODES", "S: 250 8BITMIME", "C: QUIT", "S: 221 2.0.0 Bye"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		logger, tr := NewProbeLogger(process, slog.LevelDebug, 0, "module", "bench", "target", "127.0.0.1:25")
		logger.Info("beginning probe", "prober", "starttls", "timeout_seconds", 9.5)
		h := logger.Handler().(*probeLogHandler)
		if h.NeedsSource(ctx, slog.LevelDebug) {
			b.Fatal("the default flags send probe records to the process log")
		}
		r := slog.NewRecord(time.Now(), slog.LevelDebug, "connecting", 0)
		r.AddAttrs(slog.String("address", "127.0.0.1:25"))
		_ = h.Handle(ctx, r)
		for _, l := range lines {
			_ = h.Handle(ctx, slog.NewRecord(time.Now(), slog.LevelDebug, l, 0))
		}
		logger.Info("probe succeeded", "duration_seconds", 0.0021)
		tr.finish()
	}
}

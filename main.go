// Command smtp_exporter probes SMTP ports for Prometheus: /probe?target=HOST:PORT&module=NAME.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	toolkit "github.com/prometheus/exporter-toolkit/web"
	webflag "github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
	"github.com/smtp-exporter/smtp_exporter/runner"
	"github.com/smtp-exporter/smtp_exporter/web"
)

func main() {
	// No memory profiles are served, so sample none: at the default rate the
	// runtime walks the stack of one allocation in every 512 KB (some seven
	// probes) and keeps the stacks in a table of its own (about 250 kB resident).
	runtime.MemProfileRate = 0
	os.Exit(run(os.Args[1:]))
}

type flags struct {
	configFile     string
	configCheck    bool
	proberLevel    *promslog.Level
	timeoutOffset  time.Duration
	historyLimit   int
	maxConcurrent  int
	maxConns       int
	idleTimeout    time.Duration
	maxConnections int
	web            *toolkit.FlagConfig
	log            *promslog.Config
	check          checkFlags

	// transcriptMaxBytes bounds one probe's transcript; historyMaxBytes all those the history keeps.
	transcriptMaxBytes int
	historyMaxBytes    int
}

// validateFlags refuses values that make no sense or would unbound the
// exporter, naming the flag. One line per numeric flag.
func validateFlags(f flags) error {
	return errors.Join(
		inRange("timeout-offset", f.timeoutOffset, 0, time.Minute),
		inRange("history.limit", f.historyLimit, 0, 10_000),
		inRange("probe.max-concurrent", f.maxConcurrent, 0, 1_000_000),
		inRange("probe.max-connections", f.maxConns, 0, 1_000_000),
		inRange("web.idle-timeout", f.idleTimeout, time.Millisecond, time.Hour),
		inRange("web.max-connections", f.maxConnections, 0, 1_000_000),
	)
}

func inRange[T int | time.Duration](flag string, v, lowest, highest T) error {
	if v < lowest || v > highest {
		return fmt.Errorf("--%s=%v is out of range: it must be between %v and %v", flag, v, lowest, highest)
	}
	return nil
}

func run(args []string) int {
	app := kingpin.New("smtp_exporter", "Prometheus exporter that probes SMTP ports: reachability, STARTTLS and implicit TLS, certificates, AUTH, and why a probe failed.")
	app.UsageTemplate(usageTemplate)
	f := flags{proberLevel: promslog.NewLevel(), log: &promslog.Config{}}
	app.Flag("config.file", "Module config file. Without it the built-in modules tcp, starttls, tls, submission and mx are used.").StringVar(&f.configFile)
	app.Flag("config.check", "Validate the config file and exit (0 valid, 1 invalid).").BoolVar(&f.configCheck)
	app.Flag("probe.transcript-max-bytes", "Bytes of log one probe keeps for debug=true, /logs and check --debug; a dialogue of several (submission ports, all_addresses, MX hosts) keeps at most an eighth. Records beyond are counted, not kept.").
		Default("64KiB").SetValue(byteSize{"probe.transcript-max-bytes", &f.transcriptMaxBytes, 1 << 10})
	promslogflag.AddFlags(app, f.log)
	serveCmd := addServeFlags(app.Command("serve", "Run the exporter (the default command: its flags work without the word serve).").Default(), &f)
	checkCmd := addCheckCommand(app, &f.check)
	app.Version(version.Print("smtp_exporter"))
	app.HelpFlag.Short('h')
	_ = serveCmd

	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtp_exporter:", err)
		return 2
	}
	logger := promslog.New(f.log)

	if f.configCheck {
		if f.configFile == "" {
			fmt.Fprintln(os.Stderr, "--config.check needs --config.file")
			return 1
		}
		if _, err := config.Load(f.configFile); err != nil {
			fmt.Fprintln(os.Stderr, "config is invalid:", err)
			return 1
		}
		fmt.Println("config is valid:", f.configFile)
		return 0
	}
	if cmd == checkCmd.FullCommand() {
		return runCheck(f, logger)
	}
	if err := validateFlags(f); err != nil {
		fmt.Fprintln(os.Stderr, "smtp_exporter:", err)
		return 1
	}
	return serve(f, logger)
}

// addServeFlags adds the flags only the exporter's server has: they do not
// clutter `check --help`, and the top-level help lists them (usageTemplate).
func addServeFlags(c *kingpin.CmdClause, f *flags) *kingpin.CmdClause {
	f.web = webflag.AddFlags(c, ":10587")
	c.Flag("web.idle-timeout", "A keep-alive connection idle this long is closed (the default outlasts the usual 15-60s scrape interval).").Default("90s").DurationVar(&f.idleTimeout)
	c.Flag("web.max-connections", "Open HTTP connections allowed at once; beyond it a new connection is closed at once. 0: no bound.").Default("2048").IntVar(&f.maxConnections)
	c.Flag("log.prober", "Level at which per-probe logs reach the process log (debug, info, warn, error).").Default("debug").SetValue(f.proberLevel)
	c.Flag("timeout-offset", "Subtracted from Prometheus's scrape timeout to get the probe deadline.").Default("0.5s").DurationVar(&f.timeoutOffset)
	c.Flag("probe.max-concurrent", "Probes allowed in flight at once; beyond it /probe answers 503 at once. 0: no bound.").Default("1000").IntVar(&f.maxConcurrent)
	c.Flag("probe.max-connections", "TCP connections all probes together hold at once (SMTP and the MTA-STS fetch); a dial waits for a free one until its probe's deadline. 0: no bound.").Default("2048").IntVar(&f.maxConns)
	c.Flag("history.limit", "How many recent probes (and, separately, failed probes) the landing page keeps.").Default("100").IntVar(&f.historyLimit)
	c.Flag("history.max-bytes", "Bytes of transcripts the history of recent probes keeps; beyond it the oldest successes go first, then the oldest failures.").
		Default("16MiB").SetValue(byteSize{"history.max-bytes", &f.historyMaxBytes, 1 << 10})
	return c
}

// usageTemplate is kingpin's default with one addition: the top-level help
// also lists the flags of the default command, serve, since they work
// without the word serve (`smtp_exporter --web.listen-address=…`).
var usageTemplate = strings.Replace(kingpin.DefaultUsageTemplate, `{{if .Context.Args -}}`, `{{if not .Context.SelectedCommand -}}
{{range .App.Commands -}}
{{if .Default -}}
Flags of {{.Name}}, the default command:
{{.Flags|FlagsToTwoColumns|FormatTwoColumns}}
{{end -}}
{{end -}}
{{end -}}
{{if .Context.Args -}}`, 1)

func serve(f flags, logger *slog.Logger) int {
	logger.Info("starting smtp_exporter", "version", version.Info(), "build_context", version.BuildContext())
	mux, reload, err := newMux(f, logger)
	if err != nil {
		logger.Error("cannot load config", "err", err)
		return 1
	}

	srv := newServer(mux, f)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range signals {
			if sig == syscall.SIGHUP {
				_ = reload()
				continue
			}
			logger.Info("shutting down", "signal", sig.String())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = srv.Shutdown(ctx)
			cancel()
			return
		}
	}()
	if err := toolkit.ListenAndServe(srv, f.web, logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serving failed", "err", err)
		return 1
	}
	return 0
}

// newMux loads the config and wires every endpoint. reload re-reads the
// config file, keeping the old config when the new one is broken.
func newMux(f flags, logger *slog.Logger) (*http.ServeMux, func() error, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("smtp_exporter"))

	sc := config.NewSafeConfig(f.configFile, reg)
	if err := sc.Reload(); err != nil {
		return nil, nil, err
	}
	logger.Info("loaded config", "file", f.configFile, "modules", sc.Get().ModuleNames())

	conns := prober.NewConnLimiter(f.maxConns)
	web.RegisterConnMetrics(reg, conns)
	metrics := web.NewSelfMetrics(reg)
	h := &web.Handler{
		Config: sc, TimeoutOffset: f.timeoutOffset, Metrics: metrics,
		History: web.NewBoundedHistory(f.historyLimit, f.historyMaxBytes), Limiter: web.NewLimiter(f.maxConcurrent),
		Runner: &runner.Runner{Logger: logger, ProberLevel: f.proberLevel.Level(), TranscriptMaxBytes: f.transcriptMaxBytes,
			Conns: conns, OnPanic: metrics.CountPanic},
	}
	pages := &web.Pages{Handler: h}
	reload := func() error {
		if err := sc.Reload(); err != nil {
			logger.Error("config reload failed, keeping the old config", "err", err)
			return err
		}
		logger.Info("config reloaded", "modules", sc.Get().ModuleNames())
		return nil
	}

	mux := http.NewServeMux()
	mux.Handle("/probe", probeWriteDeadline(sc, h))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/", pages.Landing)
	mux.HandleFunc("/logs", pages.Logs)
	mux.HandleFunc("/config", pages.Config)
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST to reload the config", http.StatusMethodNotAllowed)
			return
		}
		if err := reload(); err != nil {
			http.Error(w, "reload failed, the old config stays in force: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "config reloaded")
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") }
	mux.HandleFunc("/-/healthy", ok)
	mux.HandleFunc("/-/ready", ok)
	return mux, reload, nil
}

// Bounds of the exporter's own HTTP server; README "Security and limits"
// lists them. --web.idle-timeout and --web.max-connections are flags.
const (
	readTimeout    = 10 * time.Second // to send the whole request: line, headers, body
	writeTimeout   = 30 * time.Second // to answer; /probe adds its probe's time
	maxHeaderBytes = 64 << 10         // request line (the URL) and headers; beyond it: 431
	maxBodyBytes   = 4 << 10          // no endpoint reads a body; a larger one: 413
)

// newServer builds the server with every bound a client could otherwise
// stretch: slow requests, huge URLs, bodies, silent readers, idle keep-alive
// connections (kept for ever without IdleTimeout) and their number.
func newServer(h http.Handler, f flags) *http.Server {
	srv := &http.Server{
		Handler: limitBody(h),
		// ReadTimeout also bounds the server draining an unread body, even
		// behind exporter-toolkit's basic auth, which answers 401 outside
		// limitBody. It does not cut a long handler: Go clears the read
		// deadline once the request is read.
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       f.idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if f.maxConnections > 0 {
		srv.ConnState = (&connLimit{max: int64(f.maxConnections)}).track
	}
	return srv
}

// connLimit closes a new connection at once when max are open, so clients
// cannot take all the file descriptors the probes need. It is a ConnState
// hook, not a listener wrapper, because exporter-toolkit builds the
// listeners (addresses, vsock, systemd sockets).
type connLimit struct {
	max  int64
	open atomic.Int64
}

func (l *connLimit) track(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		if l.open.Add(1) > l.max {
			_ = c.Close() // the server still reports it StateClosed, which gives the slot back
		}
	case http.StateClosed, http.StateHijacked:
		l.open.Add(-1)
	}
}

// limitBody reads at most maxBodyBytes of a request body, under ReadTimeout,
// and ignores them; a longer body is refused with 413 and its connection
// closed, the rest unread (Go would otherwise drain up to 256 KiB more).
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		_, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err == nil {
			next.ServeHTTP(w, r)
			return
		}
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		w.Header().Set("Connection", "close")
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("request body refused: no endpoint takes one (up to %d bytes are ignored)", maxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "request body not received", http.StatusBadRequest)
	})
}

// probeWriteDeadline gives /probe time to probe before it answers: the
// server's WriteTimeout runs from the request, and a module's timeout (which
// a reload can change) may exceed it. Per request, so it follows reloads.
func probeWriteDeadline(sc *config.SafeConfig, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		longest := time.Duration(0)
		for _, m := range sc.Get().Modules {
			longest = max(longest, time.Duration(m.Timeout))
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(longest + writeTimeout))
		next.ServeHTTP(w, r)
	})
}

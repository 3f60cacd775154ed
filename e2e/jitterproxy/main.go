// Command jitterproxy is the end-to-end suite's delay-injecting TCP proxy
// (e2e/soak.sh): it relays each listening address to an upstream server and
// holds every chunk it reads for a random delay before writing it on, with
// now and then a longer stall. It stops by itself after -lifetime and writes
// its counters as JSON to -stats every second and on exit.
//
//	jitterproxy -route 198.18.0.6:25=198.18.0.2:25 -delay 150ms \
//	    -stall-probability 0.01 -stall-min 500ms -stall-max 1s -lifetime 5m -stats stats.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// route is one listening address and the server it relays to.
type route struct{ listen, upstream string }

type routes []route

func (r *routes) String() string { return fmt.Sprint(*r) }

func (r *routes) Set(s string) error {
	listen, upstream, ok := strings.Cut(s, "=")
	if !ok || listen == "" || upstream == "" {
		return fmt.Errorf("want LISTEN=UPSTREAM, got %q", s)
	}
	*r = append(*r, route{listen, upstream})
	return nil
}

// config is what the flags set.
type config struct {
	routes    routes
	delay     jitterConfig
	lifetime  time.Duration
	idle      time.Duration // a connection idle this long is closed
	maxConns  int
	statsPath string
	seed      uint64
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("jitterproxy", flag.ContinueOnError)
	fs.Var(&c.routes, "route", "LISTEN=UPSTREAM (repeatable)")
	fs.DurationVar(&c.delay.max, "delay", 150*time.Millisecond, "each chunk is held for a uniform random delay in [0, delay]")
	fs.Float64Var(&c.delay.stallProbability, "stall-probability", 0.01, "probability that a chunk is held for a stall instead")
	fs.DurationVar(&c.delay.stallMin, "stall-min", 500*time.Millisecond, "shortest stall")
	fs.DurationVar(&c.delay.stallMax, "stall-max", time.Second, "longest stall")
	fs.DurationVar(&c.lifetime, "lifetime", 5*time.Minute, "stop after this long")
	fs.DurationVar(&c.idle, "idle-timeout", 30*time.Second, "close a connection idle this long")
	fs.IntVar(&c.maxConns, "max-conns", 64, "connections relayed at once; more are closed at accept")
	fs.StringVar(&c.statsPath, "stats", "", "write the counters as JSON to this file")
	fs.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "random seed (logged)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case len(c.routes) == 0:
		return c, errors.New("no -route given")
	case c.lifetime <= 0 || c.idle <= 0 || c.maxConns <= 0:
		return c, errors.New("-lifetime, -idle-timeout and -max-conns must be positive")
	}
	return c, c.delay.validate()
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		logger.Error("bad flags", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("jitterproxy failed", "err", err)
		os.Exit(1)
	}
}

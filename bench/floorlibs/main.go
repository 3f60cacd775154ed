// Command floorlibs is the HTTP floor (bench/floor/floorkit: the bare
// STARTTLS dialogue behind net/http, a fixed answer) in a program built the
// way smtp_exporter is, with the libraries the project chose: kingpin flags,
// promslog, exporter-toolkit serving, a Prometheus registry with the Go,
// process and build-info collectors on /metrics. What it costs beyond the
// floor is what those libraries cost any exporter built on them; what
// smtp_exporter costs beyond it is its own work.
//
//	floorlibs --web.listen-address=ADDR --ca=CA.pem
package main

import (
	"net/http"
	"os"
	"runtime"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/smtp-exporter/smtp_exporter/bench/floor/floorkit"
)

func main() {
	runtime.MemProfileRate = 0 // as smtp_exporter: nothing serves memory profiles
	app := kingpin.New("floorlibs", "The HTTP floor built with smtp_exporter's libraries.")
	caFile := app.Flag("ca", "CA certificate (PEM) the server's certificate must verify against.").Required().String()
	webFlags := kingpinflag.AddFlags(app, ":9125")
	logConfig := &promslog.Config{}
	promslogflag.AddFlags(app, logConfig)
	app.Version(version.Print("floorlibs"))
	kingpin.MustParse(app.Parse(os.Args[1:]))
	logger := promslog.New(logConfig)

	roots, err := floorkit.LoadRoots(*caFile)
	if err != nil {
		logger.Error("cannot read the CA", "err", err)
		os.Exit(1)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("floorlibs"))
	mux := floorkit.Mux(roots)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if err := web.ListenAndServe(&http.Server{Handler: mux}, webFlags, logger); err != nil {
		logger.Error("serving failed", "err", err)
		os.Exit(1)
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// The sides compared, in the order the table shows them.
const (
	sideBare     = "bare"
	sideFloor    = "floor"
	sideFloorAA  = "floor-again"
	sideLibs     = "floorlibs"
	sideExporter = "exporter"
	sideBlackbox = "blackbox"
)

var sideLabels = map[string]string{
	sideBare:     "bare dialogue (no HTTP)",
	sideFloor:    "HTTP floor",
	sideFloorAA:  "HTTP floor, again",
	sideLibs:     "floor + libraries",
	sideExporter: "smtp_exporter",
	sideBlackbox: "blackbox_exporter",
}

// side is one of the compared programs doing a STARTTLS probe of e.target.
type side struct {
	name string
	srv  server // zero for the bare dialogue, which is not a server
	path string // the probe's URL path and query
}

// sides are the sides this machine has (blackbox only when installed), or
// those of them -sides names.
func (e *env) sides() ([]side, error) {
	all, err := e.allSides()
	if err != nil || len(e.opt.sides) == 0 {
		return all, err
	}
	var out []side
	for _, s := range all {
		if slices.Contains(e.opt.sides, s.name) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (e *env) allSides() ([]side, error) {
	exporter, err := e.exporterServer("bench.yml", exporterConfig(e.caPath))
	if err != nil {
		return nil, err
	}
	out := []side{
		{name: sideBare},
		{name: sideFloor, srv: e.floorServer(), path: "/probe?target=" + e.target},
	}
	if e.opt.aa { // the floor against itself: what the bench can tell apart
		out = append(out, side{name: sideFloorAA, srv: e.floorServer(), path: "/probe?target=" + e.target})
	}
	if _, err := os.Stat(e.opt.floorLibs); err == nil {
		out = append(out, side{name: sideLibs, srv: e.floorLibsServer(), path: "/probe?target=" + e.target})
	}
	out = append(out, side{name: sideExporter, srv: exporter, path: "/probe?module=bench&target=" + e.target})
	if _, err := os.Stat(e.opt.blackbox); err != nil {
		return out, nil
	}
	bb, err := e.blackboxServer()
	if err != nil {
		return nil, err
	}
	return append(out, side{name: sideBlackbox, srv: bb, path: "/probe?module=smtp_starttls&target=" + e.target}), nil
}

// floorLibsServer is the floor built with smtp_exporter's libraries (bench/floorlibs).
func (e *env) floorLibsServer() server {
	return server{bin: e.opt.floorLibs, ready: "/alloc", alloc: floorAlloc,
		args: func(addr string) []string { return []string{"--web.listen-address=" + addr, "--ca=" + e.caPath} }}
}

func (e *env) floorServer() server {
	return server{bin: e.opt.floor, ready: "/alloc", alloc: floorAlloc,
		args: func(addr string) []string { return []string{"-serve", addr, "-ca", e.caPath} }}
}

// exporterServer is smtp_exporter with config written to name: its
// defaults otherwise (log level, --history.limit), as users run it.
func (e *env) exporterServer(name, config string) (server, error) {
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return server{}, err
	}
	return server{bin: e.opt.exporter, ready: "/-/healthy", alloc: goAlloc,
		args: func(addr string) []string { return []string{"--config.file=" + path, "--web.listen-address=" + addr} }}, nil
}

func exporterConfig(caPath string) string {
	return fmt.Sprintf(`modules:
  bench:
    prober: starttls
    timeout: 5s
    smtp:
      ehlo: bench.test
    tls_config:
      ca_file: %s
`, caPath)
}

// blackboxServer is blackbox_exporter with the usual hand-written STARTTLS
// module (its send appends "\n", hence the "\r").
func (e *env) blackboxServer() (server, error) {
	path := filepath.Join(e.dir, "blackbox.yml")
	config := fmt.Sprintf(`modules:
  smtp_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      query_response:
        - expect: "^220 "
        - send: "EHLO bench.test\r"
        - expect: "^250 "
        - send: "STARTTLS\r"
        - expect: "^220 "
        - starttls: true
        - send: "EHLO bench.test\r"
        - expect: "^250 "
        - send: "QUIT\r"
        - expect: "^221 "
      tls_config:
        ca_file: %s
`, e.caPath)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return server{}, err
	}
	return server{bin: e.opt.blackbox, ready: "/-/healthy", alloc: goAlloc,
		args: func(addr string) []string { return []string{"--config.file=" + path, "--web.listen-address=" + addr} }}, nil
}

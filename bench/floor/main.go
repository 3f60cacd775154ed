// Command floor is the yardstick of bench/: the bare STARTTLS dialogue an
// exporter must do for every probe (connect, greeting, EHLO, STARTTLS, a full
// TLS handshake verifying the certificate, EHLO, QUIT) and nothing else.
//
//	floor -serve ADDR            the HTTP floor: GET /probe?target=HOST:PORT runs the
//	                             dialogue behind net/http and writes a fixed answer
//	floor -bare TARGET           the bare dialogue in this one process, no HTTP: runs
//	                             N probes C at a time for each "N C" line on stdin and
//	                             answers each with its allocations so far
//
// It is a separate small program so that its CPU and memory are its own.
package main

import (
	"bufio"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"

	"github.com/smtp-exporter/smtp_exporter/bench/floor/floorkit"
)

func main() {
	serve := flag.String("serve", "", "serve the HTTP floor on this address")
	bare := flag.String("bare", "", "run the bare dialogue against this HOST:PORT")
	caFile := flag.String("ca", "", "CA certificate (PEM) the server's certificate must verify against")
	flag.Parse()
	roots, err := floorkit.LoadRoots(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	switch {
	case *serve != "":
		err = http.ListenAndServe(*serve, floorkit.Mux(roots))
	case *bare != "":
		err = runBare(*bare, roots, os.Stdin, os.Stdout)
	default:
		err = errors.New("give -serve ADDR or -bare HOST:PORT")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// runBare is the bare dialogue under the bench's control: for each line
// "N C" on in it runs N probes, C at a time, and answers on out with the
// allocations so far, "TotalAlloc Mallocs". The bench reads this process's
// CPU time and memory from outside, as it does for the HTTP sides.
func runBare(target string, roots *x509.CertPool, in io.Reader, out io.Writer) error {
	probe := func() error { return floorkit.Dialogue(target, roots) }
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		var n, c int
		if _, err := fmt.Sscan(lines.Text(), &n, &c); err != nil || n < 0 || c < 1 {
			return fmt.Errorf("want \"N C\", got %q", lines.Text())
		}
		if err := floorkit.Parallel(n, c, probe); err != nil {
			return err
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if _, err := fmt.Fprintf(out, "%d %d\n", m.TotalAlloc, m.Mallocs); err != nil {
			return err
		}
	}
	return lines.Err()
}

// Package floorkit is the HTTP floor's work, shared by bench/floor (the
// standard library alone) and bench/floorlibs (the same work in a program
// linked with smtp_exporter's libraries): the bare STARTTLS dialogue and
// the /probe handler that runs it and writes a fixed exposition.
package floorkit

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"runtime"
	"sync"
	"time"
)

func LoadRoots(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", path)
	}
	return roots, nil
}

// Dialogue is one STARTTLS probe with net/smtp under a deadline, verifying
// the certificate against roots for the target's host, as a monitor must on
// every probe (no session resumption: it would hide a changed certificate).
func Dialogue(target string, roots *x509.CertPool) error {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	if err := cl.Hello("bench.test"); err != nil {
		return err
	}
	// StartTLS says EHLO again over TLS itself.
	if err := cl.StartTLS(&tls.Config{RootCAs: roots, ServerName: host}); err != nil {
		return err
	}
	return cl.Quit()
}

// Mux is the HTTP floor: the dialogue behind net/http, answering
// with a fixed exposition of the size an exporter writes for such a probe.
func Mux(roots *x509.CertPool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/probe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if err := Dialogue(r.URL.Query().Get("target"), roots); err != nil {
			_, _ = fmt.Fprintf(w, "probe_success 0\n")
			return
		}
		_, _ = w.Write([]byte(Answer))
	})
	// For the bench only, twice a measurement: the allocations so far.
	mux.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		_, _ = fmt.Fprintf(w, "%d %d\n", m.TotalAlloc, m.Mallocs)
	})
	return mux
}

// Parallel runs fn n times on c workers and returns the first error.
func Parallel(n, c int, fn func() error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan struct{}, n)
	)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range c {
		wg.Go(func() {
			for range next {
				if err := fn(); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

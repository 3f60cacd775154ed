package prober

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// TLSVersionAccepted is one TLS version tls_scan tried and whether the
// server completed a handshake at it.
type TLSVersionAccepted struct {
	Version  string // "TLS 1.0" … "TLS 1.3", as TLSInfo.Version
	Accepted bool
}

// scanVersions are the versions tls_scan tries, oldest first.
var scanVersions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// scanCipherSuites are every suite crypto/tls implements, insecure ones
// included: a server that speaks TLS 1.0 only with RSA key exchange or 3DES
// (Go no longer offers them by default) still accepts TLS 1.0.
var scanCipherSuites = func() []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	return ids
}()

// scanTLS runs after a dialogue d that reached its server, with tls_scan:
// every version the dialogue did not negotiate is tried on a connection of
// its own, all at once, under the probe's deadline and connection bound.
// The version the dialogue negotiated counts as accepted. A try that ends
// before its handshake (refused, a 421 greeting, the deadline) says nothing
// and leaves its version out.
func scanTLS(ctx context.Context, d *dialogue) {
	res := d.res
	if !d.mod.TLSScan || !res.Reachable || res.StartTLSAdvertised != nil && !*res.StartTLSAdvertised {
		return
	}
	target := d.target
	target.Addr = d.addr // the address the dialogue dialled, not a new lookup
	accepted := make([]*bool, len(scanVersions))
	var wg sync.WaitGroup
	for i, v := range scanVersions {
		if res.TLS != nil && res.TLS.Version == tls.VersionName(v) {
			accepted[i] = boolPtr(true)
			continue
		}
		wg.Go(func() {
			_ = safely(ctx, PhaseTLS, d.logger, func() { accepted[i] = tryTLSVersion(ctx, target, d.mod, d.transport, v, d.logger) })
		})
	}
	wg.Wait()
	for i, v := range scanVersions {
		if accepted[i] != nil {
			res.TLSVersions = append(res.TLSVersions, TLSVersionAccepted{Version: tls.VersionName(v), Accepted: *accepted[i]})
		}
	}
}

// tryTLSVersion runs one scan connection at version v: nil when it ended
// before the handshake answered.
func tryTLSVersion(ctx context.Context, t Target, m config.Module, tr config.Transport, v uint16, logger *slog.Logger) *bool {
	d := newDialogue(t, scanModule(m), tr, logger.With("tls_scan", tls.VersionName(v)))
	d.scanVersion = v
	res := d.run(ctx, d.scanSteps())
	f := res.Failure
	switch {
	case res.TLS != nil:
		return boolPtr(true)
	case f != nil && f.Phase == PhaseTLS && f.Reason != ReasonTimeout && f.Reason != ReasonInternal:
		return boolPtr(false) // an alert, or the server hung up on the ClientHello
	}
	return nil
}

// scanModule is m without the expectations of the dialogue (the greeting's
// text, AUTH before TLS): the dialogue checked those; a scan connection only
// asks whether a handshake completes.
func scanModule(m config.Module) config.Module {
	m.SMTP.GreetingRegexp = config.Regexp{}
	m.SMTP.FailIfAuthBeforeTLS = false
	return m
}

// scanSteps: STARTTLS needs its plaintext greeting and EHLO first, and says
// QUIT over TLS; implicit TLS just shakes hands.
func (d *dialogue) scanSteps() []step {
	if d.transport == config.ImplicitTLS {
		return implicitScanSteps
	}
	return startTLSScanSteps
}

var (
	implicitScanSteps = []step{(*dialogue).scanHandshake}
	startTLSScanSteps = []step{(*dialogue).greeting, (*dialogue).ehlo, (*dialogue).startTLS, (*dialogue).scanHandshake, (*dialogue).quit}
)

// scanHandshake shakes hands at exactly d.scanVersion, offering every
// cipher suite, and verifies nothing: only whether the handshake completes.
func (d *dialogue) scanHandshake(ctx context.Context) *Failure {
	shared, err := d.mod.ClientTLS()
	if err != nil {
		return failWith(PhaseTLS, ReasonTLSHandshake, 0, err)
	}
	cfg := shared.Clone()
	cfg.InsecureSkipVerify = true
	cfg.ServerName = d.serverName()
	cfg.MinVersion, cfg.MaxVersion = d.scanVersion, d.scanVersion
	cfg.CipherSuites = scanCipherSuites

	start := d.begin(PhaseTLS)
	tc := tls.Client(d.c.raw, cfg)
	err = tc.HandshakeContext(ctx)
	d.timed(PhaseTLS, start)
	if err != nil {
		return fail(PhaseTLS, err)
	}
	d.c.upgrade(tc)
	state := tc.ConnectionState()
	d.res.TLS = &TLSInfo{Version: tls.VersionName(state.Version), Cipher: tls.CipherSuiteName(state.CipherSuite)}
	d.logger.Debug("tls_scan: handshake completed", "version", d.res.TLS.Version, "cipher", d.res.TLS.Cipher)
	return nil
}

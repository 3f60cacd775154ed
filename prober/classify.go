package prober

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// codeError is a well-formed reply with a code the dialogue did not expect.
type codeError struct {
	code int
	text string // escaped and clipped: it reaches logs, check's report and the transcript
}

// maxErrorText bounds the reply text an error keeps: a reply may be 100
// lines of 2 KB, and a probe of many dialogues holds one error each.
const maxErrorText = 512

func newCodeError(rep reply) *codeError {
	return &codeError{code: rep.code, text: EscapeText(clipText(rep.text(), maxErrorText))}
}

func (e *codeError) Error() string { return fmt.Sprintf("unexpected reply %d %s", e.code, e.text) }

// protocolError is a reply that is not SMTP: garbage, too long, mixed codes.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "malformed reply: " + e.msg }

// fail builds the Failure for err at phase: every error → reason decision lives here.
func fail(phase Phase, err error) *Failure {
	f := &Failure{Phase: phase, Reason: classify(phase, err), Err: err}
	var ce *codeError
	if errors.As(err, &ce) {
		f.Code = ce.code
	}
	return f
}

// failWith is for failures the dialogue decides itself (a missing capability, a 535…).
func failWith(phase Phase, reason Reason, code int, err error) *Failure {
	return &Failure{Phase: phase, Reason: reason, Code: code, Err: err}
}

func classify(phase Phase, err error) Reason {
	var (
		ce   *codeError
		pe   *protocolError
		ne   net.Error
		dnsE *net.DNSError
		rhe  tls.RecordHeaderError
		ae   tls.AlertError
		cve  *tls.CertificateVerificationError
		pnc  *PanicError
	)
	switch {
	case errors.As(err, &pnc):
		return ReasonInternal
	case errors.As(err, &ce):
		return ReasonUnexpectedCode
	case errors.As(err, &pe):
		return ReasonBadReply
	case errors.As(err, &dnsE):
		if dnsE.IsTimeout {
			return ReasonTimeout
		}
		return ReasonDNS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, context.Canceled), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.EADDRNOTAVAIL):
		return ReasonUnreachable
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, net.ErrClosed):
		return ReasonReset
	case errors.As(err, &rhe), errors.As(err, &ae), errors.As(err, &cve):
		return ReasonTLSHandshake
	}
	switch phase {
	case PhaseResolve:
		return ReasonDNS
	case PhaseConnect:
		return ReasonUnreachable
	case PhaseTLS:
		return ReasonTLSHandshake
	}
	return ReasonReset
}

// classifyCert maps our own verification's error to a reason.
func classifyCert(err error) Reason {
	var (
		cie x509.CertificateInvalidError
		he  x509.HostnameError
	)
	switch {
	case errors.As(err, &cie) && cie.Reason == x509.Expired:
		return ReasonCertExpired
	case errors.As(err, &he):
		return ReasonCertHostname
	}
	return ReasonCertUntrusted
}

package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/smtp-exporter/smtp_exporter/config"
)

// MTASTSPolicy is a domain's MTA-STS policy (RFC 8461).
type MTASTSPolicy struct {
	ID     string   // the TXT record's id
	Mode   string   // enforce | testing | none
	MaxAge int64    // seconds senders cache the policy
	MX     []string // "mx.example.com" or "*.example.com"
}

// Limits of RFC 8461: max_age at most a year; policies are small.
const (
	maxPolicyAge   = 31557600
	maxPolicyBytes = 64 << 10
)

// policyError is a policy (or its TXT record) that senders would not use.
type policyError struct{ msg string }

func (e *policyError) Error() string { return e.msg }

// fetchMTASTS reads the _mta-sts TXT record and fetches the policy it
// announces, as a sender would. The failure is at phase mta_sts.
func fetchMTASTS(ctx context.Context, domain string, m config.Module, logger *slog.Logger) (*MTASTSPolicy, *Failure) {
	txts, err := newResolver(m).lookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return nil, fail(PhaseMTASTS, err)
	}
	id, err := parseSTSRecord(txts)
	if err != nil {
		return nil, failWith(PhaseMTASTS, ReasonMTASTSPolicy, 0, fmt.Errorf("_mta-sts.%s: %w", domain, err))
	}
	host := "mta-sts." + domain
	body, err := getPolicy(ctx, host, m, logger)
	if err != nil {
		return nil, policyFailure(fmt.Errorf("policy at https://%s/.well-known/mta-sts.txt: %w", host, err))
	}
	p, err := parsePolicy(string(body))
	if err != nil {
		return nil, failWith(PhaseMTASTS, ReasonMTASTSPolicy, 0, fmt.Errorf("policy at https://%s/.well-known/mta-sts.txt: %w", host, err))
	}
	p.ID = id
	logger.Debug("MTA-STS policy", "id", p.ID, "mode", p.Mode, "max_age", p.MaxAge, "mx", strings.Join(p.MX, " "))
	return p, nil
}

// policyFailure names why the fetch failed: a certificate reason for the
// policy host's certificate, the transport's reason otherwise.
func policyFailure(err error) *Failure {
	var (
		pe  *policyError
		cve *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &pe):
		return failWith(PhaseMTASTS, ReasonMTASTSPolicy, 0, err)
	case errors.Is(err, ErrTargetForbidden):
		return failWith(PhaseMTASTS, ReasonForbidden, 0, err)
	case errors.As(err, &cve):
		return failWith(PhaseMTASTS, classifyCert(cve.Err), 0, err)
	}
	return fail(PhaseMTASTS, err)
}

// parseSTSRecord finds the one "v=STSv1; id=…" TXT record (RFC 8461 §3.1).
// None, or more than one, means no policy to a sender.
func parseSTSRecord(txts []string) (string, error) {
	var ids []string
	for _, t := range txts {
		fields := strings.Split(t, ";")
		if strings.TrimSpace(fields[0]) != "v=STSv1" {
			continue
		}
		id := ""
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "id="); ok {
				id = v
				break
			}
		}
		if !validPolicyID(id) {
			return "", &policyError{fmt.Sprintf("TXT record %q: id must be 1-32 letters and digits", t)}
		}
		ids = append(ids, id)
	}
	switch len(ids) {
	case 0:
		return "", &policyError{"no TXT record starting with v=STSv1"}
	case 1:
		return ids[0], nil
	}
	return "", &policyError{fmt.Sprintf("%d TXT records start with v=STSv1: senders ignore them all", len(ids))}
}

func validPolicyID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// getPolicy fetches https://HOST/.well-known/mta-sts.txt as RFC 8461 §3.3
// says: the certificate must verify for HOST (whatever tls_config says of
// SMTP, but against its roots, so a test CA works), no redirects, 200 and
// text/plain only. HOST is looked up through the module's resolver and
// checked against allowed_targets, and dialled under the connection bound,
// like any other dial.
func getPolicy(ctx context.Context, host string, m config.Module, logger *slog.Logger) ([]byte, error) {
	shared, err := m.ClientTLS()
	if err != nil {
		return nil, err
	}
	cfg := shared.Clone()
	cfg.ServerName = host
	cfg.InsecureSkipVerify = false
	// The Transport detaches its dial from the request's deadline; the
	// probe's context bounds it instead, and ends it when getPolicy returns.
	dialCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	dial := func(context.Context, string, string) (c net.Conn, err error) {
		// The Transport dials in a goroutine of its own, which no recover of ours covers.
		if f := safely(dialCtx, PhaseMTASTS, logger, func() { c, err = dialPolicyHost(dialCtx, host, m) }); f != nil {
			return nil, f.Err
		}
		return c, err
	}
	tr := &http.Transport{DialContext: dial, TLSClientConfig: cfg, DisableKeepAlives: true, MaxResponseHeaderBytes: 16 << 10}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &policyError{"HTTP status " + resp.Status + " (redirects are not followed)"}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		return nil, &policyError{fmt.Sprintf("Content-Type %q, want text/plain", resp.Header.Get("Content-Type"))}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxPolicyBytes {
		return nil, &policyError{fmt.Sprintf("policy longer than %d bytes", maxPolicyBytes)}
	}
	return body, nil
}

// dialPolicyHost looks host up through the module's resolver, checks it
// against allowed_targets and dials it under the connection bound.
func dialPolicyHost(ctx context.Context, host string, m config.Module) (net.Conn, error) {
	ip, err := newResolver(m).pick(ctx, host, m)
	if err != nil {
		return nil, err
	}
	if !m.Allowed.Allows(host, ip) {
		return nil, fmt.Errorf("%w: %s resolves to %s", ErrTargetForbidden, host, ip)
	}
	return dialTCP(ctx, net.JoinHostPort(ip.String(), strconv.Itoa(m.MX.MTASTSPort)), sourceAddr(m))
}

// parsePolicy reads "key: value" lines (RFC 8461 §3.2); unknown keys are
// ignored, and of a key given twice the first counts (mx may repeat).
func parsePolicy(body string) (*MTASTSPolicy, error) {
	p := &MTASTSPolicy{}
	seen := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, &policyError{fmt.Sprintf("line %q is not key: value", clip(line))}
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "mx" {
			p.MX = append(p.MX, v)
			continue
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		switch k {
		case "version":
			if v != "STSv1" {
				return nil, &policyError{fmt.Sprintf("version %q, want STSv1", v)}
			}
		case "mode":
			if v != "enforce" && v != "testing" && v != "none" {
				return nil, &policyError{fmt.Sprintf("mode %q, want enforce, testing or none", v)}
			}
			p.Mode = v
		case "max_age":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || n > maxPolicyAge {
				return nil, &policyError{fmt.Sprintf("max_age %q, want 0-%d seconds", v, maxPolicyAge)}
			}
			p.MaxAge = n
		}
	}
	switch {
	case !seen["version"]:
		return nil, &policyError{"no version field"}
	case p.Mode == "":
		return nil, &policyError{"no mode field"}
	case !seen["max_age"]:
		return nil, &policyError{"no max_age field"}
	case len(p.MX) == 0 && p.Mode != "none":
		return nil, &policyError{"no mx field"}
	}
	return p, nil
}

// Matches reports whether an mx pattern names host: exactly, or as
// "*.example.com", which covers one label only (RFC 8461 §4.1).
func (p *MTASTSPolicy) Matches(host string) bool {
	host = hostName(host)
	for _, pat := range p.MX {
		pat = hostName(pat)
		if parent, ok := strings.CutPrefix(pat, "*."); ok {
			if label, rest, found := strings.Cut(host, "."); found && label != "" && rest == parent {
				return true
			}
		} else if pat == host {
			return true
		}
	}
	return false
}

// applyPolicy records which MX hosts the policy names. Under an enforce
// policy, senders will not deliver to a host it does not name, nor over a
// certificate that does not verify for the host's name: those dialogues fail
// (mta_sts/mta_sts_mx_mismatch, tls/cert_*) even with insecure_skip_verify.
// Under testing and none, they are only reported.
func applyPolicy(mx *MXResult, p *MTASTSPolicy) {
	for i := range mx.Hosts {
		h := &mx.Hosts[i]
		match := p.Matches(h.Name)
		h.PolicyMatch = &match
		if p.Mode != "enforce" {
			continue
		}
		for _, d := range h.Result.Dialogues() {
			switch {
			case d.Failure != nil:
			case !match:
				d.Failure = failWith(PhaseMTASTS, ReasonMTASTSMXMismatch, 0,
					fmt.Errorf("the enforce MTA-STS policy's mx patterns (%s) do not name %s", strings.Join(p.MX, ", "), h.Name))
			case d.TLS != nil && !d.TLS.Verified:
				d.Failure = failWith(PhaseTLS, d.TLS.CertReason, 0,
					fmt.Errorf("the certificate does not verify for %s and the MTA-STS policy is enforce", h.Name))
			}
		}
	}
}

package config

import "slices"

// Transport is how a dialogue gets to TLS.
type Transport int

// The transports of a dialogue.
const (
	Plain       Transport = iota // no TLS at all
	StartTLS                     // plaintext greeting and EHLO, then STARTTLS (RFC 3207)
	ImplicitTLS                  // TLS from the first byte (RFC 8314)
)

// String is how `check` and the docs name the transport.
func (t Transport) String() string {
	switch t {
	case StartTLS:
		return "STARTTLS"
	case ImplicitTLS:
		return "implicit TLS"
	}
	return "plain SMTP"
}

// Shape is what a kind's target names.
type Shape int

// The target shapes.
const (
	HostPort Shape = iota // HOST[:PORT]: one server; the kind's default port when none is given
	Host                  // HOST without a port: the kind probes its own list of ports
	Domain                // a mail domain without a port: the kind probes its MX hosts
)

// Option is a module option that only some kinds accept.
type Option uint

// The options a kind may accept.
const (
	OptAuth              Option = 1 << iota // smtp.auth and smtp.check_auth_enforced: need TLS
	OptFailAuthBeforeTLS                    // smtp.fail_if_auth_before_tls: needs a plaintext EHLO before TLS
	OptAllAddresses                         // all_addresses
	OptDANE                                 // dane
	OptSubmissionPorts                      // submission.ports
	OptMX                                   // the mx block
	OptServerName                           // tls_config.server_name: one server name for the target
	OptTLSScan                              // tls_scan: needs TLS
)

// Kind is one prober kind: everything the rest of the code needs to know
// about it. Adding a kind is a row here plus, in prober/, its dialogue steps
// (for a new transport) or its fan-out (for a new shape).
type Kind struct {
	Name  string
	Shape Shape
	// Transport is the dialogue's; a Host kind's ports name their own.
	Transport Transport
	// DefaultPort is dialled when the target names none (HostPort), or is
	// the port of every MX host (Domain). 0 for Host kinds.
	DefaultPort int
	Options     Option
	// ChosenForPorts are the target ports for which /probe picks this kind's
	// module when the request names none (0: a target without a port).
	ChosenForPorts []int
	// ChosenOtherwise marks the kind picked for any other port.
	ChosenOtherwise bool
	// Opportunistic marks kinds whose servers senders reach over
	// opportunistic TLS (RFC 7435): their tls_verification defaults to opportunistic.
	Opportunistic bool
	// Summary says in a few words what the kind probes (check, docs, errors).
	Summary string
}

// Kinds is the one table of prober kinds.
var Kinds = []Kind{
	{Name: "tcp", Shape: HostPort, Transport: Plain, DefaultPort: 25,
		Options: OptAllAddresses,
		Summary: "greeting and EHLO over plain SMTP"},
	{Name: "starttls", Shape: HostPort, Transport: StartTLS, DefaultPort: 587,
		Options:         OptAuth | OptFailAuthBeforeTLS | OptAllAddresses | OptDANE | OptServerName | OptTLSScan,
		ChosenOtherwise: true,
		Summary:         "STARTTLS, the certificate and optionally AUTH"},
	{Name: "tls", Shape: HostPort, Transport: ImplicitTLS, DefaultPort: 465,
		Options:        OptAuth | OptAllAddresses | OptServerName | OptTLSScan,
		ChosenForPorts: []int{465},
		Summary:        "implicit TLS, the certificate and optionally AUTH"},
	{Name: "submission", Shape: Host, Transport: StartTLS,
		Options:        OptAuth | OptFailAuthBeforeTLS | OptSubmissionPorts | OptServerName | OptTLSScan,
		ChosenForPorts: []int{0},
		Summary:        "the host's submission ports (587 → 465 → 2525) and which one to use"},
	{Name: "mx", Shape: Domain, Transport: StartTLS, DefaultPort: 25,
		Options: OptAllAddresses | OptDANE | OptMX | OptTLSScan, Opportunistic: true,
		Summary: "a mail domain's MX hosts on port 25, DANE and MTA-STS"},
}

// KindOf returns the kind named name.
func KindOf(name string) (Kind, bool) {
	i := slices.IndexFunc(Kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return Kinds[i], true
}

// KindNames lists the kinds' names in table order.
func KindNames() []string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Name
	}
	return names
}

// KindForPort names the kind whose module /probe uses when the request
// names no module: by the target's port (0 when it has none).
func KindForPort(port int) string {
	fallback := ""
	for _, k := range Kinds {
		if slices.Contains(k.ChosenForPorts, port) {
			return k.Name
		}
		if k.ChosenOtherwise {
			fallback = k.Name
		}
	}
	return fallback
}

// Accepts reports whether the kind takes option o.
func (k Kind) Accepts(o Option) bool { return k.Options&o != 0 }

// kindsWith lists the kinds that accept o, for error messages.
func kindsWith(o Option) string {
	var names []string
	for _, k := range Kinds {
		if k.Accepts(o) {
			names = append(names, k.Name)
		}
	}
	return orList(names)
}

// dialogueOverTLS: the kinds a submission port may name speak to one server over TLS.
func dialogueOverTLS(name string) bool {
	k, ok := KindOf(name)
	return ok && k.Shape == HostPort && k.Transport != Plain
}

package prober

import "strconv"

// Label is one label that places a nested Result: port; address and
// ip_version; mx and preference.
type Label struct{ Name, Value string }

// Child is a Result nested in another, with its own labels (not its parent's).
type Child struct {
	// Name is what the child is called in summaries: the port, the address or the MX host.
	Name   string
	Labels []Label
	Result *Result
}

// Children lists the Results nested directly in r, in report order: the
// submission prober's ports, all_addresses' addresses, the mx prober's MX hosts.
func (r *Result) Children() []Child {
	var out []Child
	for _, p := range r.Ports {
		port := strconv.Itoa(p.Port)
		out = append(out, Child{port, []Label{{"port", port}}, p.Result})
	}
	for _, a := range r.Addresses {
		addr := a.Addr.String()
		out = append(out, Child{addr, []Label{{"address", addr}, {"ip_version", a.IPVersion()}}, a.Result})
	}
	if r.MX != nil {
		for _, h := range r.MX.Hosts {
			pref := strconv.Itoa(int(h.Preference))
			out = append(out, Child{h.Name, []Label{{"mx", h.Name}, {"preference", pref}}, h.Result})
		}
	}
	return out
}

// Nested is true for a Result that summarises others (ports, addresses, MX
// hosts), even when it has none (a host that did not resolve), and false
// for a single dialogue.
func (r *Result) Nested() bool {
	return r.Ports != nil || r.Addresses != nil || r.MX != nil
}

// Node is one Result in a probe's tree, with everything that places it.
type Node struct {
	Path   []string // the Names from the top, empty for the probe itself
	Labels []Label  // the labels from the top, in order
	Result *Result
}

// Walk calls fn for r and every Result nested in it, depth first, parents
// before their children.
func (r *Result) Walk(fn func(Node)) {
	r.walk(Node{Result: r}, fn)
}

func (r *Result) walk(n Node, fn func(Node)) {
	fn(n)
	for _, c := range r.Children() {
		child := Node{
			Path:   append(append([]string{}, n.Path...), c.Name),
			Labels: append(append([]Label{}, n.Labels...), c.Labels...),
			Result: c.Result,
		}
		c.Result.walk(child, fn)
	}
}

// Dialogues are the single SMTP dialogues of a probe: the Results of its
// tree that are not Nested.
func (r *Result) Dialogues() []*Result {
	var out []*Result
	r.Walk(func(n Node) {
		if !n.Result.Nested() {
			out = append(out, n.Result)
		}
	})
	return out
}

// Working counts r's children whose every dialogue passed every step.
func (r *Result) Working() int {
	n := 0
	for _, c := range r.Children() {
		if c.Result.Success() {
			n++
		}
	}
	return n
}

// Forbidden is true when allowed_targets stopped every dialogue of the
// probe and nothing at all was dialled (the MTA-STS policy fetch dials
// too): /probe answers it with 403. A probe that dialled anything is
// answered as usual, its forbidden parts failing with reason forbidden.
func (r *Result) Forbidden() bool {
	if r.Dials > 0 {
		return false
	}
	leaves := r.Dialogues()
	for _, d := range leaves {
		if d.Failure == nil || d.Failure.Reason != ReasonForbidden {
			return false
		}
	}
	return len(leaves) > 0
}

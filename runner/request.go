package runner

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/smtp-exporter/smtp_exporter/config"
	"github.com/smtp-exporter/smtp_exporter/prober"
)

// Request is one validated probe: the module by name, and the target
// fitted to the module's kind.
type Request struct {
	ModuleName string
	Module     config.Module
	Target     prober.Target
}

// Resolve validates the target and picks the module as the contract says
// (by the target's port when no module is named). Its error is the one-line
// message of a 400, or of `check`'s exit status 2.
func Resolve(cfg *config.Config, target, moduleName string) (Request, error) {
	if target == "" {
		return Request{}, fmt.Errorf("target parameter is missing or empty")
	}
	t, err := prober.ParseTarget(target)
	if err != nil {
		return Request{}, err
	}
	if moduleName == "" {
		moduleName = config.KindForPort(t.Port)
		if _, ok := cfg.Modules[moduleName]; !ok {
			return Request{}, fmt.Errorf("no module given and the config has no module %q: add module= (one of %s)", moduleName, strings.Join(cfg.ModuleNames(), ", "))
		}
	}
	m, ok := cfg.Modules[moduleName]
	if !ok {
		return Request{}, &UnknownModuleError{Name: moduleName, Known: cfg.ModuleNames()}
	}
	k, _ := config.KindOf(m.Prober) // validated at load
	if err := fitTarget(moduleName, k, &t); err != nil {
		return Request{}, err
	}
	return Request{ModuleName: moduleName, Module: m, Target: t}, nil
}

// fitTarget checks t against what the kind's target names, and gives a
// target of one server the kind's default port when it has none.
func fitTarget(moduleName string, k config.Kind, t *prober.Target) error {
	switch k.Shape {
	case config.Host:
		if t.Port != 0 {
			return fmt.Errorf("module %q uses the %s prober, which probes %s itself: give a host without a port", moduleName, k.Name, k.Summary)
		}
	case config.Domain:
		if t.Port != 0 {
			return fmt.Errorf("module %q uses the %s prober, which probes %s itself: give a domain without a port", moduleName, k.Name, k.Summary)
		}
		if _, err := netip.ParseAddr(t.Host); err == nil {
			return fmt.Errorf("module %q uses the %s prober: give a mail domain, not the IP address %s", moduleName, k.Name, t.Host)
		}
	default:
		if t.Port == 0 {
			t.Port = k.DefaultPort
		}
	}
	return nil
}

// UnknownModuleError is a request naming a module the config does not have.
type UnknownModuleError struct {
	Name  string
	Known []string
}

func (e *UnknownModuleError) Error() string {
	return fmt.Sprintf("unknown module %s (known: %s)", prober.QuoteInput(e.Name), strings.Join(e.Known, ", "))
}

package config

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// SafeConfig holds the config in force. Probes take a snapshot with Get; a
// reload swaps the pointer, so a probe in flight keeps the config it started with.
type SafeConfig struct {
	reloadMu sync.Mutex // one reload at a time: SIGHUP and POST /-/reload may race
	mu       sync.RWMutex
	path     string // empty: the built-in modules
	cur      *Config

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

// NewSafeConfig registers the reload gauges on reg. path may be empty for the built-in modules.
func NewSafeConfig(path string, reg prometheus.Registerer) *SafeConfig {
	f := promauto.With(reg)
	return &SafeConfig{
		path: path,
		reloadOK: f.NewGauge(prometheus.GaugeOpts{
			Name: "smtp_exporter_config_last_reload_successful",
			Help: "1 if the last config load succeeded.",
		}),
		reloadTime: f.NewGauge(prometheus.GaugeOpts{
			Name: "smtp_exporter_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful config load.",
		}),
	}
}

// Reload loads the file (or the built-in modules). On error the config in
// force stays and the error is returned.
func (s *SafeConfig) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	var c *Config
	var err error
	if s.path == "" {
		c = Builtin()
	} else {
		c, err = Load(s.path)
	}
	if err != nil {
		s.reloadOK.Set(0)
		return err
	}
	s.mu.Lock()
	s.cur = c
	s.mu.Unlock()
	s.reloadOK.Set(1)
	s.reloadTime.Set(float64(time.Now().UnixNano()) / 1e9)
	return nil
}

// Get returns the config in force. Callers must not modify it.
func (s *SafeConfig) Get() *Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

// Path is the config file, or "" for the built-in modules.
func (s *SafeConfig) Path() string { return s.path }

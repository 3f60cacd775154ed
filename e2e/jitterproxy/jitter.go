package main

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// jitterConfig: each chunk waits a uniform random delay in [0, max], or
// with stallProbability a stall in [stallMin, stallMax] instead.
type jitterConfig struct {
	max                time.Duration
	stallProbability   float64
	stallMin, stallMax time.Duration
}

func (c jitterConfig) validate() error {
	switch {
	case c.max < 0 || c.stallMin < 0 || c.stallMax < c.stallMin:
		return errors.New("delays must be >= 0 and -stall-min <= -stall-max")
	case !(c.stallProbability >= 0 && c.stallProbability <= 1):
		return errors.New("-stall-probability must be in [0, 1]")
	}
	return nil
}

// jitter draws the delays; one random source shared by every connection.
type jitter struct {
	cfg jitterConfig
	mu  sync.Mutex
	rng *rand.Rand
}

func newJitter(cfg jitterConfig, seed uint64) *jitter {
	return &jitter{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

// next returns the delay for one chunk and whether it is a stall.
func (j *jitter) next() (time.Duration, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.rng.Float64() < j.cfg.stallProbability {
		return j.cfg.stallMin + uniform(j.rng, j.cfg.stallMax-j.cfg.stallMin), true
	}
	return uniform(j.rng, j.cfg.max), false
}

// uniform is a random duration in [0, d].
func uniform(rng *rand.Rand, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rng.Int64N(int64(d) + 1))
}

// stats are the proxy's counters, safe for concurrent use.
type stats struct {
	connections, rejected, chunks, bytes, stalls atomic.Int64
	delayTotal, delayMax                         atomic.Int64 // nanoseconds
}

func (s *stats) addDelay(d time.Duration, stall bool) {
	s.chunks.Add(1)
	s.delayTotal.Add(int64(d))
	if stall {
		s.stalls.Add(1)
	}
	for {
		old := s.delayMax.Load()
		if int64(d) <= old || s.delayMax.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// statsJSON is what -stats holds (e2e/soak_test.go reads it).
type statsJSON struct {
	Connections       int64   `json:"connections"`
	Rejected          int64   `json:"rejected"`
	Chunks            int64   `json:"chunks"`
	Bytes             int64   `json:"bytes"`
	Stalls            int64   `json:"stalls"`
	DelayTotalSeconds float64 `json:"delay_total_seconds"`
	DelayMaxSeconds   float64 `json:"delay_max_seconds"`
}

func (s *stats) snapshot() statsJSON {
	return statsJSON{
		Connections:       s.connections.Load(),
		Rejected:          s.rejected.Load(),
		Chunks:            s.chunks.Load(),
		Bytes:             s.bytes.Load(),
		Stalls:            s.stalls.Load(),
		DelayTotalSeconds: time.Duration(s.delayTotal.Load()).Seconds(),
		DelayMaxSeconds:   time.Duration(s.delayMax.Load()).Seconds(),
	}
}

// write replaces path atomically, so a reader never sees half a file.
func (s *stats) write(path string) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(s.snapshot())
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

//go:build race

package collector

// raceEnabled: the race detector's shadow memory multiplies RSS, so memory
// tests assert the Go heap only.
const raceEnabled = true

//go:build race

package web

// raceEnabled: the race detector's shadow memory multiplies RSS, so memory
// tests assert the Go heap only.
const raceEnabled = true

package web

// Limiter bounds the probes in flight, so a burst of scrapes (or an abuser)
// cannot pile up goroutines and sockets without end.
type Limiter struct{ slots chan struct{} }

// NewLimiter allows n probes at once; n <= 0 means no bound (nil).
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		return nil
	}
	return &Limiter{slots: make(chan struct{}, n)}
}

func (l *Limiter) tryAcquire() bool {
	if l == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (l *Limiter) release() {
	if l != nil {
		<-l.slots
	}
}

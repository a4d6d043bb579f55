// Package clock abstracts time so that the fault, the ECS simulator and their tests can share one notion of
// "now". Production code uses Real; tests and the demo use Scaled, which runs faster than the wall clock so
// that a 30-second scenario takes a second or two without any test sleeping on the wall clock.
package clock

import "time"

// Clock tells the time and makes timers. Every time-dependent piece of the project takes one.
type Clock interface {
	// Now returns the current time on this clock.
	Now() time.Time
	// NewTimer returns a timer that fires once after d has passed on this clock.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the project uses, so that scaled clocks can provide their own.
type Timer interface {
	// C delivers the clock's time once the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether the call stopped it.
	Stop() bool
}

// Sleep waits for d on c, or until done is closed; it reports whether the full duration elapsed.
func Sleep(c Clock, d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-done:
		return false
	}
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer returns a wall-clock timer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Scaled is a clock that runs Factor times faster than the wall clock, starting at the wall-clock time it
// was created. A Factor of 20 turns a 30-second hold into 1.5 seconds of real time.
type Scaled struct {
	start  time.Time // wall-clock instant the scaled clock was created (monotonic reading kept)
	factor float64
}

// NewScaled returns a clock running factor times faster than real time; a factor <= 0 is treated as 1.
func NewScaled(factor float64) *Scaled {
	if factor <= 0 {
		factor = 1
	}
	return &Scaled{start: time.Now(), factor: factor}
}

// Factor returns how many times faster than real time the clock runs.
func (s *Scaled) Factor() float64 { return s.factor }

// Now returns the scaled time: the creation instant plus the real elapsed time multiplied by the factor.
func (s *Scaled) Now() time.Time {
	elapsed := time.Since(s.start)
	return s.start.Add(time.Duration(float64(elapsed) * s.factor))
}

// NewTimer returns a timer that fires after d of scaled time (d/factor of real time) and delivers scaled time.
func (s *Scaled) NewTimer(d time.Duration) Timer {
	ch := make(chan time.Time, 1)
	t := time.AfterFunc(time.Duration(float64(d)/s.factor), func() { ch <- s.Now() })
	return &scaledTimer{t: t, c: ch}
}

type scaledTimer struct {
	t *time.Timer
	c chan time.Time
}

func (s *scaledTimer) C() <-chan time.Time { return s.c }
func (s *scaledTimer) Stop() bool          { return s.t.Stop() }

package clock

import (
	"testing"
	"time"
)

func TestScaledRunsFaster(t *testing.T) {
	c := NewScaled(100)
	begin := c.Now()
	realBegin := time.Now()
	timer := c.NewTimer(2 * time.Second) // 20 ms of real time
	select {
	case fired := <-timer.C():
		if got := fired.Sub(begin); got < 2*time.Second {
			t.Fatalf("timer fired after %v of scaled time, want at least 2s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("scaled timer did not fire within 5s of real time")
	}
	if real := time.Since(realBegin); real > 2*time.Second {
		t.Fatalf("2s of scaled time took %v of real time at factor 100", real)
	}
}

func TestSleepStopsWhenDone(t *testing.T) {
	done := make(chan struct{})
	close(done)
	if Sleep(Real{}, time.Hour, done) {
		t.Fatal("Sleep reported a full hour elapsed although done was closed")
	}
	if !Sleep(Real{}, 0, nil) {
		t.Fatal("Sleep(0) must report the duration elapsed")
	}
}

func TestNonPositiveFactorIsRealTime(t *testing.T) {
	if f := NewScaled(0).Factor(); f != 1 {
		t.Fatalf("factor = %v, want 1", f)
	}
}

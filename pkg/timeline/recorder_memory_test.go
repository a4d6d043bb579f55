package timeline

import (
	"fmt"
	"testing"
	"time"
)

// The recorder's memory stays flat with the number of services: 500 services polled for hours keep at most
// maxTotalSamples/500 change points each (the snapshot keeps fewer still), one service up to maxSamples.
func TestMemoryIsSharedBetweenServices(t *testing.T) {
	for _, services := range []int{1, 500} {
		start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		r := NewRecorder(start)
		for i := range services {
			r.Service(fmt.Sprintf("svc-%03d", i))
		}
		for poll := range 2000 {
			for i := range services {
				r.Observe(fmt.Sprintf("svc-%03d", i), Sample{At: start.Add(time.Duration(poll) * 2 * time.Second), Desired: 4,
					Original: Tasks{Running: 4 - poll%2}, Chaos: Tasks{Pending: poll % 3}})
			}
		}
		want := min(maxSamples, max(minMemorySamples, maxTotalSamples/services))
		for _, s := range r.services {
			if len(s.samples) > want {
				t.Fatalf("%d services: %s keeps %d change points, want at most %d", services, s.name, len(s.samples), want)
			}
		}
	}
}

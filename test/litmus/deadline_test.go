package litmus

import (
	"testing"
	"time"
)

func TestAbortDeadline(t *testing.T) {
	for _, tc := range []struct {
		log  string
		want time.Duration
		ok   bool
	}{
		{`time="..." level=info msg="abort deadline 25s (grace period 30s)"`, 25 * time.Second, true},
		{`level=info msg=start abort_deadline=27.5s`, 27500 * time.Millisecond, true},
		{`{"abortDeadline":"1m2s"}`, 62 * time.Second, true},
		{`no deadline here`, 0, false},
	} {
		got, ok := AbortDeadline(tc.log)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AbortDeadline(%q) = %s, %v; want %s, %v", tc.log, got, ok, tc.want, tc.ok)
		}
	}
}

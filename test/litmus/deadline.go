package litmus

import (
	"regexp"
	"time"
)

var abortDeadlineLog = regexp.MustCompile(`(?i)abort[ _-]?deadline[^0-9]{0,40}([0-9]+(?:\.[0-9]+)?(?:ms|s|m|h)(?:[0-9]+(?:\.[0-9]+)?(?:ms|s))*)`)

// AbortDeadline reads the abort deadline the fault logs at start; ok is false when the log has none.
func AbortDeadline(log string) (time.Duration, bool) {
	m := abortDeadlineLog.FindStringSubmatch(log)
	if m == nil {
		return 0, false
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		return 0, false
	}
	return d, true
}

package simenv

import (
	"io"
	"strings"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// Log is a logger at debug level whose entries are kept for the test rather than written: the fault logs from many
// goroutines, some after the test's own goroutine has moved on, where t.Log is not allowed.
type Log struct {
	*logrus.Logger
	kept *logtest.Hook
}

// NewLog returns an empty Log.
func NewLog() *Log {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.DebugLevel)
	return &Log{Logger: l, kept: logtest.NewLocal(l)}
}

// String is the log so far in logrus's text format, one line per entry (`level=warning msg=...`).
func (l *Log) String() string {
	var b strings.Builder
	for _, entry := range l.kept.AllEntries() {
		line, err := l.Formatter.Format(entry)
		if err != nil {
			line = []byte("unformattable log entry: " + err.Error() + "\n")
		}
		b.Write(line)
	}
	return b.String()
}

package tunables

import (
	"strconv"
	"strings"
)

// Problem is one invalid tunable. Rule says what is wrong and what is allowed; it quotes the value only for
// ordinary tunables, never anything read from a secret or a credentials variable.
type Problem struct {
	Variable string
	Rule     string
}

// ValidationError carries every problem found by Load, so that a user fixes the whole configuration in one go
// instead of one variable per run. Callers branch on it with errors.As to exit with the "bad input" code.
type ValidationError struct {
	Problems []Problem
}

// Error lists every problem, one per line, as "VARIABLE: what is wrong; allowed: ...".
func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, "invalid tunables:")
	for _, p := range e.Problems {
		lines = append(lines, p.Variable+": "+p.Rule)
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems while Load walks the variables.
type problems []Problem

func (ps *problems) add(variable, wrong, allowed string) {
	*ps = append(*ps, Problem{Variable: variable, Rule: wrong + "; allowed: " + allowed})
}

// maxQuoted bounds how much of a bad value is echoed back, so a pasted file cannot flood the log.
const maxQuoted = 80

// quote renders an ordinary tunable's value for a message, Go-quoted so that invisible characters show.
func quote(value string) string {
	if len(value) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !isRuneStart(value[cut]) {
			cut--
		}
		return strconv.Quote(value[:cut]) + "..."
	}
	return strconv.Quote(value)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

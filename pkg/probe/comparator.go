package probe

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Comparator checks a probe's observed value (command output, metric, response code or body) against the
// expected value. It is validated when parsed, so comparing can only fail on the observed value.
type Comparator struct {
	Type     string // int, float or string
	Criteria string // normalised: ==, !=, >, <, >=, <=, oneOf, between, equal, notEqual, contains, matches, notMatches
	Value    string // as written

	numbers []float64 // parsed Value for int and float
	words   []string  // parsed Value for string oneOf
	re      *regexp.Regexp
}

// Litmus accepts a few capitalised spellings; they are normalised here.
var numericCriteria = map[string]string{
	"==": "==", "!=": "!=", ">": ">", "<": "<", ">=": ">=", "<=": "<=",
	"oneOf": "oneOf", "OneOf": "oneOf", "between": "between", "Between": "between",
}

var stringCriteria = map[string]string{
	"equal": "equal", "Equal": "equal", "notEqual": "notEqual", "NotEqual": "notEqual",
	"contains": "contains", "Contains": "contains", "matches": "matches", "Matches": "matches",
	"notMatches": "notMatches", "NotMatches": "notMatches", "oneOf": "oneOf", "OneOf": "oneOf",
}

// newComparator validates a comparator; each problem is returned as (field, rule) relative to the
// comparator.
func newComparator(typ, criteria, value string) (Comparator, []fieldProblem) {
	c := Comparator{Type: typ, Criteria: criteria, Value: value}
	var problems []fieldProblem
	add := func(field, format string, args ...any) {
		problems = append(problems, fieldProblem{field, fmt.Sprintf(format, args...)})
	}
	switch typ {
	case "int", "float":
		c.parseNumeric(add)
	case "string":
		c.parseString(add)
	case "":
		add("type", "required (int, float or string)")
	default:
		add("type", "%q is not one of int, float, string", typ)
	}
	return c, problems
}

// parseNumeric normalises the criteria of an int or float comparator and reads its value into numbers, checking
// that the value has the shape the criteria needs, so that compare never indexes past what was parsed.
func (c *Comparator) parseNumeric(add addFunc) {
	norm, ok := numericCriteria[c.Criteria]
	if !ok {
		add("criteria", "%q is not a %s criteria (one of ==, !=, >, <, >=, <=, oneOf, between)", c.Criteria, c.Type)
		return
	}
	c.Criteria = norm
	items, isList := splitList(c.Value)
	invalid := false
	for _, item := range items {
		n, err := parseNumber(c.Type, item)
		if err != nil || math.IsNaN(n) {
			add("value", "%q is not a %s", item, c.Type)
			invalid = true
			continue
		}
		c.numbers = append(c.numbers, n)
	}
	switch {
	case invalid:
	case norm == "between" && len(c.numbers) != 2:
		add("value", "between takes two numbers, lower and upper, as \"[1,5]\" or \"1,5\"; got %q", c.Value)
	case norm == "between" && c.numbers[0] > c.numbers[1]:
		add("value", "between's lower bound %v is above its upper bound %v", c.numbers[0], c.numbers[1])
	case norm == "oneOf" && len(c.numbers) == 0:
		add("value", "oneOf takes a list such as \"[200,204]\"")
	case norm != "oneOf" && norm != "between" && (isList || len(c.numbers) != 1):
		add("value", "%s takes a single %s; got %q", norm, c.Type, c.Value)
	}
}

// parseString normalises the criteria of a string comparator and prepares its value: the regular expression of
// matches and notMatches is compiled once here, and the words of oneOf are split.
func (c *Comparator) parseString(add addFunc) {
	norm, ok := stringCriteria[c.Criteria]
	if !ok {
		add("criteria", "%q is not a string criteria (one of equal, notEqual, contains, matches, notMatches, oneOf)", c.Criteria)
		return
	}
	c.Criteria = norm
	switch norm {
	case "matches", "notMatches":
		re, err := regexp.Compile(c.Value)
		if err != nil {
			add("value", "not a valid regular expression (Go RE2 syntax): %v", err)
		}
		c.re = re
	case "oneOf":
		c.words, _ = splitList(c.Value)
		if len(c.words) == 0 {
			add("value", "oneOf takes a list such as \"[ok,ready]\"")
		}
	}
}

// splitList reads Litmus's list values, "[a,b]" or "a,b"; it reports whether the value was a list.
func splitList(value string) ([]string, bool) {
	v := strings.TrimSpace(value)
	bracketed := strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]")
	if bracketed {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	if v == "" {
		return nil, bracketed
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, bracketed || len(parts) > 1
}

func parseNumber(typ, text string) (float64, error) {
	text = strings.TrimSpace(text)
	if typ == "int" {
		n, err := strconv.ParseInt(text, 10, 64)
		return float64(n), err
	}
	return strconv.ParseFloat(text, 64)
}

// compare reports whether actual meets the expectation, with a sentence saying what was seen and
// expected. An actual value that cannot be read as the comparator's type is a failure, never a pass.
func (c Comparator) compare(actual string) (bool, string) {
	shown := abbreviate(actual, 200)
	if c.Type == "string" {
		ok := false
		switch c.Criteria {
		case "equal":
			ok = actual == c.Value
		case "notEqual":
			ok = actual != c.Value
		case "contains":
			ok = strings.Contains(actual, c.Value)
		case "matches":
			ok = c.re.MatchString(actual)
		case "notMatches":
			ok = !c.re.MatchString(actual)
		case "oneOf":
			for _, w := range c.words {
				ok = ok || actual == w
			}
		}
		return ok, fmt.Sprintf("actual value %q, expected %s %q", shown, c.Criteria, c.Value)
	}
	n, err := parseNumber(c.Type, actual)
	if err != nil {
		return false, fmt.Sprintf("actual value %q is not a %s (expected %s %s)", shown, c.Type, c.Criteria, c.Value)
	}
	ok := false
	switch c.Criteria {
	case "==":
		ok = n == c.numbers[0]
	case "!=":
		ok = n != c.numbers[0]
	case ">":
		ok = n > c.numbers[0]
	case "<":
		ok = n < c.numbers[0]
	case ">=":
		ok = n >= c.numbers[0]
	case "<=":
		ok = n <= c.numbers[0]
	case "oneOf":
		for _, x := range c.numbers {
			ok = ok || n == x
		}
	case "between":
		ok = n >= c.numbers[0] && n <= c.numbers[1]
	}
	return ok, fmt.Sprintf("actual value %s, expected %s %s", strings.TrimSpace(shown), c.Criteria, c.Value)
}

func abbreviate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

package probe

import (
	"strings"
	"testing"
)

func TestComparatorCompare(t *testing.T) {
	tests := []struct {
		typ, criteria, value string
		actual               string
		want                 bool
	}{
		{"int", "==", "200", "200", true},
		{"int", "==", "200", "503", false},
		{"int", "!=", "200", "503", true},
		{"int", ">", "1", "2", true},
		{"int", ">", "2", "2", false},
		{"int", ">=", "2", "2", true},
		{"int", "<", "2", "1", true},
		{"int", "<=", "2", "3", false},
		{"int", "oneOf", "[200,204]", "204", true},
		{"int", "OneOf", "200,204", "500", false},
		{"int", "between", "[200,299]", "250", true},
		{"int", "Between", "200,299", "300", false},
		{"int", "==", "42", " 42 ", true},
		{"int", "==", "42", "forty-two", false}, // unreadable output never passes
		{"int", "==", "0", "", false},
		{"float", ">=", "0.5", "0.75", true},
		{"float", "<", "1", "NaN", false},
		{"float", "between", "[0.1,0.2]", "0.15", true},
		{"float", "==", "1", "+Inf", false},
		{"string", "equal", "ok", "ok", true},
		{"string", "Equal", "ok", "ko", false},
		{"string", "notEqual", "ok", "ko", true},
		{"string", "contains", "world", "hello world", true},
		{"string", "contains", "mars", "hello world", false},
		{"string", "matches", "^ready-[0-9]+$", "ready-12", true},
		{"string", "matches", "^ready-[0-9]+$", "ready-x", false},
		{"string", "notMatches", "error", "all good", true},
		{"string", "notMatches", "error", "an error", false},
		{"string", "oneOf", "[ready,running]", "running", true},
		{"string", "oneOf", "ready,running", "stopped", false},
	}
	for _, tt := range tests {
		name := tt.typ + " " + tt.criteria + " " + tt.value + " vs " + tt.actual
		t.Run(name, func(t *testing.T) {
			c, problems := newComparator(tt.typ, tt.criteria, tt.value)
			if len(problems) > 0 {
				t.Fatalf("valid comparator refused: %v", problems)
			}
			got, detail := c.compare(tt.actual)
			if got != tt.want {
				t.Fatalf("compare(%q) = %v (%s), want %v", tt.actual, got, detail, tt.want)
			}
			if detail == "" {
				t.Fatal("no description")
			}
		})
	}
}

func TestComparatorValidation(t *testing.T) {
	tests := []struct {
		typ, criteria, value string
		field, rule          string
	}{
		{"", "==", "1", "type", "required"},
		{"bool", "==", "1", "type", "not one of"},
		{"int", "equal", "1", "criteria", "not a int criteria"},
		{"string", "==", "x", "criteria", "not a string criteria"},
		{"int", "==", "abc", "value", "not a int"},
		{"int", "==", "1.5", "value", "not a int"},
		{"float", ">", "x", "value", "not a float"},
		{"float", ">", "NaN", "value", "not a float"},
		{"int", "==", "[1,2]", "value", "takes a single"},
		{"int", "between", "[5]", "value", "two numbers"},
		{"int", "between", "[9,1]", "value", "above its upper bound"},
		{"int", "oneOf", "[]", "value", "takes a list"},
		{"string", "matches", "([", "value", "regular expression"},
		{"string", "oneOf", "", "value", "takes a list"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.criteria+" "+tt.value, func(t *testing.T) {
			_, problems := newComparator(tt.typ, tt.criteria, tt.value)
			if len(problems) == 0 {
				t.Fatal("invalid comparator accepted")
			}
			if problems[0].field != tt.field || !strings.Contains(problems[0].rule, tt.rule) {
				t.Fatalf("problem = %+v, want field %q with %q", problems[0], tt.field, tt.rule)
			}
		})
	}
}

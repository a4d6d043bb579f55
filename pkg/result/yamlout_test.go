package result

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// roundTrip checks that what marshalYAML wrote reads back as the same JSON value with sigs.k8s.io/yaml (YAML 1.1
// rules, what kubectl and the file writer's own reader use) and with go.yaml.in/yaml/v3 (YAML 1.2).
func roundTrip(t *testing.T, v any) string {
	t.Helper()
	out, err := marshalYAML(v)
	if err != nil {
		t.Fatalf("marshalYAML(%#v): %v", v, err)
	}
	want := jsonValue(t, v)
	var got11 any
	if err := yaml.Unmarshal(out, &got11); err != nil {
		t.Fatalf("YAML 1.1 reader refused:\n%s\n%v", out, err)
	}
	if !reflect.DeepEqual(got11, want) {
		t.Fatalf("YAML 1.1 reader read\n%#v\nwant\n%#v\nfrom:\n%s", got11, want, out)
	}
	var got12 any
	if err := yamlv3.Unmarshal(out, &got12); err != nil {
		t.Fatalf("YAML 1.2 reader refused:\n%s\n%v", out, err)
	}
	if !reflect.DeepEqual(jsonValue(t, got12), want) {
		t.Fatalf("YAML 1.2 reader read\n%#v\nwant\n%#v\nfrom:\n%s", got12, want, out)
	}
	return string(out)
}

// jsonValue is v as encoding/json reads it back, the form both readers are compared in.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%#v): %v", v, err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMarshalYAMLReadsBackAsWritten(t *testing.T) {
	tricky := []string{"", " ", "yes", "No", "ON", "off", "y", "N", "true", "False", "null", "Null", "~", "-", "- a", "a: b",
		"a:", "a #b", "#x", "1", "1.5", "1e3", "0x1F", "0o17", "1_000", "1:20", ".inf", "-.inf", ".NaN", "2026-12-02",
		"2026-12-02T02:57:48Z", "@x", "`x", "!tag", "&anchor", "*alias", "%x", "|", ">", "'q'", `"q"`, "{a: 1}", "[1]",
		"a\nb", "tab\there", "trailing ", " leading", "é", "\u2028", "<&>", `back\slash`, "arn:aws:ecs:us-east-1:123456789012:service/demo/web",
		"CannotPullContainerError: pull image manifest has been retried 5 time(s)", "web:2 IN_PROGRESS", "a, b", "x=y", "e5",
		strings.Repeat("long key ", 200)}
	for _, s := range tricky {
		t.Run(strings.ReplaceAll(s, "/", "_"), func(t *testing.T) {
			roundTrip(t, map[string]any{"value": s, s + "k": s, "list": []any{s, map[string]any{s: s}}})
		})
	}
}

func TestMarshalYAMLShapes(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"empty object", map[string]any{}, "{}\n"},
		{"nested mapping indents under its key", map[string]any{"a": map[string]any{"b": int64(1), "c": "x"}}, "a:\n  b: 1\n  c: x\n"},
		{"list dashes at the key's indent", map[string]any{"a": []any{"x", "y"}}, "a:\n- x\n- \"y\"\n"},
		{"mapping in a list", map[string]any{"a": []any{map[string]any{"k": "v", "l": true}}}, "a:\n- k: v\n  l: true\n"},
		{"list in a list", map[string]any{"s": []any{[]any{int64(1), 2.5}, []any{}}}, "s:\n- - 1\n  - 2.5\n- []\n"},
		{"empty collections and null", map[string]any{"e": map[string]any{}, "l": []any{}, "nil": nil}, "e: {}\nl: []\nnil: null\n"},
		{"numbers", map[string]any{"i": int64(-3), "f": 0.125, "big": 1e21, "num": json.Number("7")}, "big: 1e+21\nf: 0.125\ni: -3\nnum: 7\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := roundTrip(t, tc.v); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestMarshalYAMLRefusesWhatJSONCannotHold(t *testing.T) {
	for _, v := range []any{map[string]any{"c": make(chan int)}, map[string]any{"f": float32(1)}} {
		if _, err := marshalYAML(v); err == nil {
			t.Errorf("marshalYAML(%#v) = nil error, want one naming the type", v)
		}
	}
}

// FuzzMarshalYAML: any string, as a key, a value and a list item, reads back as written.
func FuzzMarshalYAML(f *testing.F) {
	for _, s := range []string{"yes", "a: b", "1:20", "x #y", "é\u2028", "- ", "[", "arn:aws:ecs:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // JSON replaces invalid UTF-8; the ChaosResult never holds it (the apiserver refuses it)
		}
		roundTrip(t, map[string]any{"v": s, s: []any{s, map[string]any{"k": s}}})
	})
}

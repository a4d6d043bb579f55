package result

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// marshalYAML writes a JSON value tree (what an unstructured object holds: maps with string keys, lists, strings,
// int64, float64, json.Number, bool, nil) as block-style YAML with sorted keys.
//
// It exists for memory, not style: YAML libraries hold a node or event per scalar, so sigs.k8s.io/yaml needed
// about 100 times the output's size to write the result of a 500-service run (150 MB for 1.6 MB), which was the
// fault's peak RSS. This writer holds only the output. A string is written plain only where every YAML 1.1 and
// 1.2 reader takes it for that same string; anything else is double-quoted with YAML's escapes.
func marshalYAML(v any) ([]byte, error) {
	w := yamlWriter{}
	switch root := v.(type) {
	case map[string]any:
		if len(root) == 0 {
			return []byte("{}\n"), nil
		}
		w.mapping(root, 0, false)
	default:
		w.child(v, 0, false)
	}
	return w.buf.Bytes(), w.err
}

// maxImplicitKey leaves room for the quotes and escapes of a key of 1024 characters or less.
const maxImplicitKey = 128

type yamlWriter struct {
	buf bytes.Buffer
	err error
}

func (w *yamlWriter) indent(n int) {
	for range n {
		w.buf.WriteByte(' ')
	}
}

// mapping writes m's entries at indent; the first entry continues the current line when inline (after "- ").
func (w *yamlWriter) mapping(m map[string]any, indent int, inline bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 || !inline {
			w.indent(indent)
		}
		if len(k) > maxImplicitKey {
			// YAML allows at most 1024 characters in a key written without "? " (YAML 1.2, 7.4.2).
			w.buf.WriteString("? ")
			w.doubleQuoted(k)
			w.buf.WriteByte('\n')
			w.indent(indent)
		} else {
			w.scalarString(k)
		}
		w.buf.WriteByte(':')
		w.child(m[k], indent, true)
	}
}

// sequence writes l's items at indent, each after "- "; the first continues the current line when inline.
func (w *yamlWriter) sequence(l []any, indent int, inline bool) {
	for i, item := range l {
		if i > 0 || !inline {
			w.indent(indent)
		}
		w.buf.WriteString("- ")
		switch x := item.(type) {
		case map[string]any:
			if len(x) > 0 {
				w.mapping(x, indent+2, true)
				continue
			}
		case []any:
			if len(x) > 0 {
				w.sequence(x, indent+2, true)
				continue
			}
		}
		w.scalar(item)
		w.buf.WriteByte('\n')
	}
}

// child writes the value of a mapping entry whose key (at indent) has just been written, or a document's root.
// A nested mapping is indented under its key; a list's dashes stand at the key's own indent, as kubectl and
// sigs.k8s.io/yaml write them.
func (w *yamlWriter) child(v any, indent int, afterKey bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 {
			w.buf.WriteByte('\n')
			w.mapping(x, indent+2, false)
			return
		}
	case []any:
		if len(x) > 0 {
			if afterKey {
				w.buf.WriteByte('\n')
			}
			w.sequence(x, indent, false)
			return
		}
	}
	if afterKey {
		w.buf.WriteByte(' ')
	}
	w.scalar(v)
	w.buf.WriteByte('\n')
}

func (w *yamlWriter) scalar(v any) {
	switch x := v.(type) {
	case nil:
		w.buf.WriteString("null")
	case bool:
		w.buf.WriteString(strconv.FormatBool(x))
	case string:
		w.scalarString(x)
	case int64:
		w.buf.WriteString(strconv.FormatInt(x, 10))
	case int:
		w.buf.WriteString(strconv.Itoa(x))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			w.fail(fmt.Errorf("%v has no JSON form", x))
			return
		}
		w.buf.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case json.Number:
		w.buf.WriteString(x.String())
	case map[string]any:
		w.buf.WriteString("{}") // only empty ones reach here
	case []any:
		w.buf.WriteString("[]")
	default:
		w.fail(fmt.Errorf("a %T is not a JSON value", v))
	}
}

func (w *yamlWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.buf.WriteString("null")
}

func (w *yamlWriter) scalarString(s string) {
	if plainSafe(s) {
		w.buf.WriteString(s)
		return
	}
	w.doubleQuoted(s)
}

// doubleQuoted writes s as a YAML double-quoted scalar, escaping every character that YAML does not allow
// unescaped (C0 and C1 controls, DEL, non-characters) and those YAML 1.1 reads as line breaks (NEL, U+2028,
// U+2029), as well as the byte order mark.
func (w *yamlWriter) doubleQuoted(s string) {
	w.buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			w.buf.WriteByte('\\')
			w.buf.WriteRune(r)
		case r == '\n':
			w.buf.WriteString(`\n`)
		case r == '\t':
			w.buf.WriteString(`\t`)
		case r == '\r':
			w.buf.WriteString(`\r`)
		case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff && r != 0x2028 && r != 0x2029,
			r >= 0xe000 && r <= 0xfffd && r != 0xfeff, r >= 0x10000 && r <= 0x10ffff:
			w.buf.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&w.buf, `\u%04x`, r)
		default:
			fmt.Fprintf(&w.buf, `\U%08x`, r)
		}
	}
	w.buf.WriteByte('"')
}

// plainSafe reports whether s can be written without quotes and read back as the same string by YAML 1.1 and 1.2
// readers: it starts with a letter, holds only letters, digits, spaces and _./:-()@+,=, has no ": ", " #" or
// trailing ':' or space, and is not one of YAML 1.1's boolean or null words.
func plainSafe(s string) bool {
	if s == "" || !isLetter(s[0]) || s[len(s)-1] == ' ' || s[len(s)-1] == ':' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLetter(c), c >= '0' && c <= '9':
		case strings.IndexByte("_./-()@+,=", c) >= 0:
		case c == ' ':
			if i+1 < len(s) && s[i+1] == '#' {
				return false
			}
		case c == ':':
			if i+1 < len(s) && s[i+1] == ' ' {
				return false
			}
		default:
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

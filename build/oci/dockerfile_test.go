package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// stage is what the test needs from one Dockerfile stage. The parser knows only the instructions the final
// stage uses; anything else in that stage fails the test, so a new instruction cannot slip past the comparison.
type stage struct {
	From       string
	Name       string
	Args       map[string]string
	Labels     map[string]string
	Copies     []copyInstruction
	User       string
	Entrypoint []string
	Cmd        []string
	Others     []string // instructions the comparison does not cover (RUN, ENV, WORKDIR...)
}

type copyInstruction struct {
	From    string // the --from stage or image, "" for the build context
	Sources []string
	Dest    string
}

// parseStages reads a Dockerfile into stages, expanding ${VAR} and $VAR from buildArgs, then ARG defaults.
func parseStages(text string, buildArgs map[string]string) ([]*stage, error) {
	var (
		stages []*stage
		cur    *stage
		global = map[string]string{}
	)
	for _, line := range logicalLines(text) {
		keyword, rest, _ := strings.Cut(line, " ")
		keyword = strings.ToUpper(keyword)
		rest = strings.TrimSpace(rest)
		if keyword == "FROM" {
			cur = &stage{Args: map[string]string{}, Labels: map[string]string{}}
			stages = append(stages, cur)
			fields := withoutFlags(strings.Fields(rest))
			if len(fields) != 1 && !(len(fields) == 3 && strings.EqualFold(fields[1], "AS")) {
				return nil, fmt.Errorf("FROM %q: want an image and an optional AS name", rest)
			}
			cur.From = expand(fields[0], func(k string) (string, bool) { return lookup(k, buildArgs, global) })
			if len(fields) == 3 {
				cur.Name = fields[2]
			}
			continue
		}
		if cur == nil {
			if keyword != "ARG" {
				return nil, fmt.Errorf("%s before the first FROM", keyword)
			}
			k, v, _ := strings.Cut(rest, "=")
			global[k] = v
			continue
		}
		env := func(k string) (string, bool) { return lookup(k, buildArgs, cur.Args) }
		switch keyword {
		case "ARG":
			k, v, hasDefault := strings.Cut(rest, "=")
			if !hasDefault {
				v = global[k]
			}
			cur.Args[k] = v
		case "LABEL":
			pairs, err := splitWords(rest)
			if err != nil {
				return nil, fmt.Errorf("LABEL %s: %w", rest, err)
			}
			for _, p := range pairs {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return nil, fmt.Errorf("LABEL %q: want key=value pairs", p)
				}
				cur.Labels[k] = expand(v, env)
			}
		case "COPY":
			var c copyInstruction
			fields := strings.Fields(rest)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				if from, ok := strings.CutPrefix(fields[0], "--from="); ok {
					c.From = from
				}
				fields = fields[1:]
			}
			if len(fields) < 2 {
				return nil, fmt.Errorf("COPY %q: want sources and a destination", rest)
			}
			c.Sources, c.Dest = fields[:len(fields)-1], fields[len(fields)-1]
			cur.Copies = append(cur.Copies, c)
		case "USER":
			cur.User = expand(rest, env)
		case "ENTRYPOINT", "CMD":
			var argv []string
			if err := json.Unmarshal([]byte(rest), &argv); err != nil {
				// The shell form needs /bin/sh, which distroless lacks.
				return nil, fmt.Errorf("%s %s: want the exec (JSON array) form: %w", keyword, rest, err)
			}
			if keyword == "CMD" {
				cur.Cmd = argv
			} else {
				cur.Entrypoint = argv
			}
		default:
			cur.Others = append(cur.Others, keyword)
		}
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, nil
}

// logicalLines joins continuation lines and drops comments and blank lines, as Docker's parser does.
func logicalLines(text string) []string {
	var (
		lines []string
		cur   strings.Builder
	)
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if body, more := strings.CutSuffix(line, `\`); more {
			cur.WriteString(body)
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		if s := strings.TrimSpace(cur.String()); s != "" {
			lines = append(lines, s)
		}
		cur.Reset()
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		lines = append(lines, s)
	}
	return lines
}

func withoutFlags(fields []string) []string {
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		fields = fields[1:]
	}
	return fields
}

// splitWords splits on spaces outside double quotes and removes the quotes (LABEL's key="a b" form).
func splitWords(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		quoted bool
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && quoted && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case ch == '"':
			quoted, inWord = !quoted, true
		case ch == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

var variable = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

func expand(s string, env func(string) (string, bool)) string {
	return variable.ReplaceAllStringFunc(s, func(m string) string {
		k := strings.Trim(m, "${}")
		v, _ := env(k)
		return v
	})
}

func lookup(k string, buildArgs, args map[string]string) (string, bool) {
	if v, ok := args[k]; ok {
		if b, given := buildArgs[k]; given {
			return b, true
		}
		return v, true
	}
	return "", false
}

func TestParseStages(t *testing.T) {
	const dockerfile = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.0
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
RUN go build \
    -o /x ./x
FROM base:tag
ARG VERSION=dev
LABEL a="one two" \
      b=${VERSION} c="q\"uote"
COPY --from=build --chmod=755 /x /usr/bin/x
USER 1:2
ENTRYPOINT ["/usr/bin/x"]
CMD ["run", "--fast"]
`
	tests := []struct {
		name      string
		buildArgs map[string]string
		want      stage
	}{
		{"defaults", nil, stage{
			From: "base:tag", Args: map[string]string{"VERSION": "dev"},
			Labels: map[string]string{"a": "one two", "b": "dev", "c": `q"uote`},
			Copies: []copyInstruction{{From: "build", Sources: []string{"/x"}, Dest: "/usr/bin/x"}},
			User:   "1:2", Entrypoint: []string{"/usr/bin/x"}, Cmd: []string{"run", "--fast"},
		}},
		{"build arg wins", map[string]string{"VERSION": "1.2.3"}, stage{
			From: "base:tag", Args: map[string]string{"VERSION": "dev"},
			Labels: map[string]string{"a": "one two", "b": "1.2.3", "c": `q"uote`},
			Copies: []copyInstruction{{From: "build", Sources: []string{"/x"}, Dest: "/usr/bin/x"}},
			User:   "1:2", Entrypoint: []string{"/usr/bin/x"}, Cmd: []string{"run", "--fast"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stages, err := parseStages(dockerfile, tt.buildArgs)
			if err != nil {
				t.Fatal(err)
			}
			if len(stages) != 2 {
				t.Fatalf("got %d stages, want 2", len(stages))
			}
			if stages[0].From != "golang:1.0" || stages[0].Name != "build" || !reflect.DeepEqual(stages[0].Others, []string{"RUN"}) {
				t.Errorf("build stage = %+v", stages[0])
			}
			if got := *stages[1]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("final stage =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseStagesRejects(t *testing.T) {
	tests := []struct{ name, dockerfile, want string }{
		{"shell-form entrypoint", "FROM x\nENTRYPOINT /experiment run\n", "exec (JSON array) form"},
		{"instruction before FROM", "RUN true\nFROM x\n", "before the first FROM"},
		{"unterminated label quote", "FROM x\nLABEL a=\"b\n", "unterminated quote"},
		{"no FROM", "# nothing\n", "no FROM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseStages(tt.dockerfile, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// finalStage reads the repository's Dockerfile and returns its last stage, the image `docker build` makes.
func finalStage(t *testing.T, path string, buildArgs map[string]string) *stage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	stages, err := parseStages(string(data), buildArgs)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return stages[len(stages)-1]
}

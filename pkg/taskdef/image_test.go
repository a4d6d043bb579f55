package taskdef

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

const digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestResolveChaosImage(t *testing.T) {
	tests := []struct {
		raw, runID string
		want       string
		pinned     bool
	}{
		{"nginx", "run-1", "nginx:chaos-invalid-run-1", false},
		{"registry:5000/app", "run-1", "registry:5000/app:chaos-invalid-run-1", false},
		{"docker.io/library/nginx", "run-1", "docker.io/library/nginx:chaos-invalid-run-1", false},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app", "8f14e45f-ceea-467f-a8f1-1f3e2b6d7c90",
			"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:chaos-invalid-8f14e45f-ceea-467f-a8f1-1f3e2b6d7c90", false},
		{"nginx", "Run ID/42#x", "nginx:chaos-invalid-Run-ID-42-x", false},
		{"nginx", "é", "nginx:chaos-invalid--", false},
		{"nginx", strings.Repeat("r", 300), "nginx:chaos-invalid-" + strings.Repeat("r", 128-len("chaos-invalid-")), false},
		{"nginx:1.25", "run-1", "nginx:1.25", true},
		{"registry:5000/app:1.0", "run-1", "registry:5000/app:1.0", true},
		{"repo@" + digest, "run-1", "repo@" + digest, true},
		{"repo:1.0@" + digest, "run-1", "repo:1.0@" + digest, true},
		{"public.ecr.aws/nonexistent/nope:does-not-exist", "run-1", "public.ecr.aws/nonexistent/nope:does-not-exist", true},
		{"Registry.Example.com/app", "run-1", "Registry.Example.com/app:chaos-invalid-run-1", false},
	}
	tagRule := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ResolveChaosImage(tt.raw, tt.runID)
			if err != nil {
				t.Fatal(err)
			}
			if got != (ChaosImage{Reference: tt.want, Pinned: tt.pinned}) {
				t.Fatalf("got %+v, want %q pinned=%v", got, tt.want, tt.pinned)
			}
			named, err := reference.ParseNormalizedNamed(got.Reference)
			if err != nil {
				t.Fatalf("the result does not parse: %v", err)
			}
			if tagged, ok := named.(reference.Tagged); !tt.pinned && (!ok || !tagRule.MatchString(tagged.Tag())) {
				t.Fatalf("the result's tag breaks the tag grammar: %v", named)
			}
		})
	}
}

func TestResolveChaosImageErrors(t *testing.T) {
	tests := []struct {
		name, raw, runID, want string
	}{
		{"empty", "", "run-1", "empty"},
		{"uppercase repository", "Nginx", "run-1", "must be lowercase"},
		{"uppercase path", "registry:5000/Team/app", "run-1", "must be lowercase"},
		{"empty tag", "nginx:", "run-1", "invalid reference format"},
		{"space in tag", "nginx:bad tag", "run-1", "invalid reference format"},
		{"leading space", " nginx", "run-1", "invalid reference format"},
		{"short digest", "nginx@sha256:abc", "run-1", "invalid"},
		{"bare image id", strings.TrimPrefix(digest, "sha256:"), "run-1", "64-byte hexadecimal"},
		{"too long for ECS with the chaos tag", "registry.example.com/" + strings.Repeat("a", 220), "run-1", "255 characters"},
		{"too long for ECS", "registry.example.com/" + strings.Repeat("a", 220) + ":" + strings.Repeat("t", 20), "run-1", "255 characters"},
		{"no run id", "nginx", "", "run id is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveChaosImage(tt.raw, tt.runID)
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.want)
			}
			if tt.runID != "" && !errors.Is(err, ErrInvalidImage) {
				t.Fatalf("err = %v, want ErrInvalidImage", err)
			}
		})
	}
}

func TestResolveChaosImageErrorShowsValidForms(t *testing.T) {
	_, err := ResolveChaosImage("Nginx", "run-1")
	if err == nil || !strings.Contains(err.Error(), `"Nginx"`) || !strings.Contains(err.Error(), "registry:5000/team/app") {
		t.Fatalf("err = %v, want the bad value and examples of valid ones", err)
	}
}

package events

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"this is too long", 10, "this is..."},
		{"ééééé", 8, "éé..."}, // never cuts a rune in half
	}
	for _, tt := range tests {
		got := truncate(tt.in, tt.max)
		if got != tt.want || len(got) > tt.max || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestEventNamesAreValidAndUnique(t *testing.T) {
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	tests := []struct{ object string }{{"nginx-chaos"}, {strings.Repeat("a", 253)}}
	for _, tt := range tests {
		r := NewKubeRecorder(nil, Object{Name: tt.object}, Options{})
		seen := map[string]bool{}
		for i := range 3 {
			r.seq = i
			name := r.eventName(now) // the clock did not move
			if len(name) > maxNameBytes || seen[name] {
				t.Errorf("name %q: length %d, seen before %v", name, len(name), seen[name])
			}
			seen[name] = true
		}
	}
}

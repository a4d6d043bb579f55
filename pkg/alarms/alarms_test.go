package alarms

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

func TestJudge(t *testing.T) {
	since := time.Unix(1000, 0)
	cases := []struct {
		name     string
		obs      Observation
		wantPass bool
		wantText string
	}{
		{"all fired", Observation{Reached: map[string]time.Time{"a": since.Add(20 * time.Second), "b": since}}, true, "a after 20s"},
		{"one silent", Observation{Reached: map[string]time.Time{"a": since}}, false, "never reached ALARM during the fault: b"},
		{"unknown name", Observation{Reached: map[string]time.Time{}, Unknown: []string{"b"}}, false, "no alarm named b"},
		{"denied", Observation{Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}}, false, "cloudwatch:DescribeAlarms"},
		{"other error", Observation{Err: errors.New("boom")}, false, "boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			passed, desc := Judge([]string{"a", "b"}, tc.obs, since)
			if passed != tc.wantPass || !strings.Contains(desc, tc.wantText) {
				t.Errorf("Judge = %v, %q; want %v containing %q", passed, desc, tc.wantPass, tc.wantText)
			}
		})
	}
}

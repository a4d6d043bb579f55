package taskdef

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

func tag(key, value string) types.Tag {
	return types.Tag{Key: aws.String(key), Value: aws.String(value)}
}

func customerTags(n int) []types.Tag {
	tags := make([]types.Tag, n)
	for i := range tags {
		tags[i] = tag(fmt.Sprintf("k%02d", i), "v")
	}
	return tags
}

func keys(tags []types.Tag) []string {
	k := make([]string, len(tags))
	for i, t := range tags {
		k[i] = aws.ToString(t.Key)
	}
	return k
}

func TestChaosTags(t *testing.T) {
	const markerKeys = TagRunID + " " + TagOriginalRevision
	tests := []struct {
		name     string
		tags     []types.Tag
		runID    string
		wantKeys string   // space-separated
		warnings []string // one substring per expected warning, in order
	}{
		{"customer tags first, then the marker", []types.Tag{tag("team", "payments"), tag("cost center", "été 2026 +/-=._:@")},
			"run-1", "team cost center " + markerKeys, nil},
		{"no customer tags", nil, "run-1", markerKeys, nil},
		{"aws: keys are AWS-managed, in any case", []types.Tag{tag("aws:cloudformation:stack-name", "web"), tag("AWS:x", "y"),
			tag("Aws:z", "y"), tag("team", "payments")}, "run-1", "team " + markerKeys,
			[]string{`"aws:cloudformation:stack-name"`, `"AWS:x"`, `"Aws:z"`}},
		{"aws: value", []types.Tag{tag("origin", "aws:managed")}, "run-1", markerKeys, []string{"reserved aws: prefix"}},
		{"bad characters", []types.Tag{tag("team!", "x"), tag("team", "a;b"), tag("ok", "")}, "run-1", "ok " + markerKeys,
			[]string{`"team!"`, `"team"`}},
		{"lengths", []types.Tag{tag(strings.Repeat("k", 128), strings.Repeat("é", 256)), tag(strings.Repeat("k", 129), "v"),
			tag("long", strings.Repeat("v", 257)), tag("", "v")}, "run-1", strings.Repeat("k", 128) + " " + markerKeys,
			[]string{"longer than 128", "longer than 256", "key is empty"}},
		{"stale marker tags on the original are replaced", []types.Tag{tag(TagRunID, "old"), tag("team", "payments")}, "run-1",
			"team " + markerKeys, []string{"left over from an earlier run"}},
		{"48 customer tags leave room for the marker", customerTags(48), "run-1",
			strings.Join(keys(customerTags(48)), " ") + " " + markerKeys, nil},
		{"49 customer tags keep one marker tag", customerTags(49), "run-1",
			strings.Join(keys(customerTags(49)), " ") + " " + TagRunID, []string{`marker tag "ecschaos:original-revision" left out`}},
		{"50 customer tags keep no marker tag", customerTags(50), "run-1", strings.Join(keys(customerTags(50)), " "),
			[]string{`marker tag "ecschaos:run-id"`, `marker tag "ecschaos:original-revision"`}},
		{"more than 50 customer tags", customerTags(51), "run-1", strings.Join(keys(customerTags(50)), " "),
			[]string{`tag "k50" not copied`, `"ecschaos:run-id"`, `"ecschaos:original-revision"`}},
		{"run id a tag cannot hold", nil, "run#1", TagOriginalRevision, []string{`marker tag "ecschaos:run-id" left out`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, warnings, err := Chaos(webTaskDefinition(), tt.tags, chaosImage(), nil,
				Marker{RunID: tt.runID, DeploymentConfiguration: "{}"})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(keys(in.Tags), " "); got != tt.wantKeys {
				t.Errorf("tag keys = %q\nwant       %q", got, tt.wantKeys)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want it to mention %q", i, warnings[i], w)
				}
			}
			for _, tg := range in.Tags {
				if p := tagProblem(aws.ToString(tg.Key), aws.ToString(tg.Value)); p != "" {
					t.Errorf("tag %q sent although %s", aws.ToString(tg.Key), p)
				}
			}
		})
	}
}

func TestChaosTagValues(t *testing.T) {
	in, _, err := Chaos(webTaskDefinition(), nil, chaosImage(), nil, Marker{RunID: "run-1", DeploymentConfiguration: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range in.Tags {
		got[*tg.Key] = *tg.Value
	}
	if got[TagRunID] != "run-1" || got[TagOriginalRevision] != "7" {
		t.Fatalf("marker tags = %v", got)
	}
}

func TestTagWarningsNeverQuoteValues(t *testing.T) {
	_, warnings, err := Chaos(webTaskDefinition(), []types.Tag{tag("token", "s3cr3t;value")}, chaosImage(), nil,
		Marker{RunID: "run-1", DeploymentConfiguration: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || strings.Contains(warnings[0], "s3cr3t") {
		t.Fatalf("warnings = %q", warnings)
	}
}

func TestIsTagPermissionError(t *testing.T) {
	denied := func(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"TagResource denied", denied("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/chaos/pod "+
			"is not authorized to perform: ecs:TagResource on resource: arn:aws:ecs:us-east-1:123456789012:task-definition/web:* "+
			"because no identity-based policy allows the ecs:TagResource action"), true},
		{"wrapped", fmt.Errorf("register: %w", denied("AccessDeniedException", "not authorized to perform: ecs:TagResource")), true},
		{"tagging wording", denied("AccessDeniedException", "Tagging is not authorized for this principal"), true},
		{"RegisterTaskDefinition denied", denied("AccessDeniedException",
			"not authorized to perform: ecs:RegisterTaskDefinition on resource: *"), false},
		{"PassRole denied", denied("AccessDeniedException", "not authorized to perform: iam:PassRole"), false},
		{"other code", denied("ClientException", "ecs:TagResource"), false},
		{"not an API error", errors.New("AccessDeniedException: ecs:TagResource"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTagPermissionError(tt.err); got != tt.want {
				t.Fatalf("IsTagPermissionError = %v, want %v", got, tt.want)
			}
		})
	}
}

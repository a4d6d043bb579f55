package ecssim

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestNormaliseImage(t *testing.T) {
	cases := map[string]string{
		"nginx":                        "docker.io/library/nginx:latest",
		"nginx:latest":                 "docker.io/library/nginx:latest",
		"docker.io/library/nginx":      "docker.io/library/nginx:latest",
		"registry:5000/app":            "registry:5000/app:latest",
		"public.ecr.aws/nginx/nginx:1": "public.ecr.aws/nginx/nginx:1",
		"Not A Reference":              "Not A Reference",
	}
	for in, want := range cases {
		if got := normaliseImage(in); got != want {
			t.Errorf("normaliseImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTaskDefinitionLifecycle(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	container := types.ContainerDefinition{
		Name: aws.String("app"), Image: aws.String("nginx"), Essential: aws.Bool(true), Cpu: 128,
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), Protocol: types.TransportProtocolTcp}},
		Environment:  []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}},
		Secrets:      []types.Secret{{Name: aws.String("TOKEN"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/token")}},
		HealthCheck:  &types.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}, Interval: aws.Int32(10)},
		DockerLabels: map[string]string{"team": "web"},
	}
	tags := []types.Tag{{Key: aws.String("owner"), Value: aws.String("sre team @ acme/web:+=._-")}}
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), ContainerDefinitions: []types.ContainerDefinition{container}, Tags: tags,
		Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
	})
	if err != nil {
		t.Fatal(err)
	}
	td := reg.TaskDefinition
	if aws.ToString(td.TaskDefinitionArn) != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1" || td.Revision != 1 ||
		td.Status != types.TaskDefinitionStatusActive || td.RegisteredAt == nil || s.Now().Sub(*td.RegisteredAt) > time.Minute {
		t.Fatalf("registered %+v", td)
	}
	second := registerRevision(ctx, t, c, "web", "nginx:1.27")
	if !strings.HasSuffix(second, ":web:2") && !strings.HasSuffix(second, "/web:2") {
		t.Fatalf("second revision %s", second)
	}

	// Every field comes back as registered, and tags on request.
	desc, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(desc.TaskDefinition.ContainerDefinitions, []types.ContainerDefinition{container}) {
		t.Fatalf("container definition changed:\n got %+v\nwant %+v", desc.TaskDefinition.ContainerDefinitions, container)
	}
	if !reflect.DeepEqual(desc.Tags, tags) || aws.ToString(desc.TaskDefinition.Cpu) != "256" || desc.TaskDefinition.NetworkMode != types.NetworkModeAwsvpc {
		t.Fatalf("describe lost fields: tags %v cpu %v", desc.Tags, desc.TaskDefinition.Cpu)
	}
	noTags, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: td.TaskDefinitionArn})
	if err != nil || len(noTags.Tags) != 0 {
		t.Fatalf("tags without include: %v %v", noTags, err)
	}

	// Deregistering the newest: the family now resolves to revision 1, while web:2 stays describable.
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(second)}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref        string
		wantRev    int32
		wantStatus types.TaskDefinitionStatus
		wantCode   string
	}{
		{ref: "web", wantRev: 1, wantStatus: types.TaskDefinitionStatusActive},
		{ref: "web:2", wantRev: 2, wantStatus: types.TaskDefinitionStatusInactive},
		{ref: second, wantRev: 2, wantStatus: types.TaskDefinitionStatusInactive},
		{ref: "web:3", wantCode: "ClientException"},
		{ref: "nope", wantCode: "ClientException"},
	}
	for _, tc := range cases {
		out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tc.ref)})
		if tc.wantCode != "" {
			if errorCode(err) != tc.wantCode {
				t.Errorf("%s: error %v, want %s", tc.ref, err, tc.wantCode)
			}
			continue
		}
		if err != nil || out.TaskDefinition.Revision != tc.wantRev || out.TaskDefinition.Status != tc.wantStatus {
			t.Errorf("%s: got %+v %v", tc.ref, out, err)
		}
		if tc.wantStatus == types.TaskDefinitionStatusInactive && out.TaskDefinition.DeregisteredAt == nil {
			t.Errorf("%s: no deregisteredAt", tc.ref)
		}
	}
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web")}); errorCode(err) != "ClientException" {
		t.Errorf("deregister without revision: %v", err)
	}
}

func TestRegisterTaskDefinitionValidation(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	app := []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}}
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	many := make([]types.Tag, 51)
	for i := range many {
		many[i] = tag(strings.Repeat("k", i+1), "v")
	}
	cases := []struct {
		name       string
		containers []types.ContainerDefinition
		tags       []types.Tag
		wantCode   string
	}{
		{name: "empty tag list accepted", containers: app, tags: []types.Tag{}},
		{name: "50 tags accepted", containers: app, tags: many[:50]},
		{name: "51 tags", containers: app, tags: many, wantCode: "InvalidParameterException"},
		{name: "aws prefix", containers: app, tags: []types.Tag{tag("aws:owner", "x")}, wantCode: "InvalidParameterException"},
		{name: "AWS prefix any case", containers: app, tags: []types.Tag{tag("AWS:owner", "x")}, wantCode: "InvalidParameterException"},
		{name: "key too long", containers: app, tags: []types.Tag{tag(strings.Repeat("k", 129), "x")}, wantCode: "InvalidParameterException"},
		{name: "key at limit", containers: app, tags: []types.Tag{tag(strings.Repeat("k", 128), strings.Repeat("v", 256))}},
		{name: "value too long", containers: app, tags: []types.Tag{tag("k", strings.Repeat("v", 257))}, wantCode: "InvalidParameterException"},
		{name: "bad character", containers: app, tags: []types.Tag{tag("k", "a,b")}, wantCode: "InvalidParameterException"},
		{name: "no containers", containers: []types.ContainerDefinition{}, wantCode: "ClientException"},
		{name: "no image", containers: []types.ContainerDefinition{{Name: aws.String("app")}}, wantCode: "ClientException"},
		{name: "duplicate names", containers: append(append([]types.ContainerDefinition{}, app...), app...), wantCode: "ClientException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("v"), ContainerDefinitions: tc.containers, Tags: tc.tags})
			if got := errorCode(err); got != tc.wantCode {
				t.Fatalf("error %v, want code %q", err, tc.wantCode)
			}
		})
	}

	// Without ecs:TagResource, tags are refused as ECS does since 2024, and nothing is registered.
	s.SetRegisterTagsDenied(true)
	before, _ := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("v")})
	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("v"), ContainerDefinitions: app, Tags: []types.Tag{tag("k", "v")}})
	if errorCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "ecs:TagResource") {
		t.Fatalf("want AccessDeniedException naming ecs:TagResource, got %v", err)
	}
	after, _ := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("v")})
	if len(after.TaskDefinitionArns) != len(before.TaskDefinitionArns) {
		t.Fatal("a refused registration created a revision")
	}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("v"), ContainerDefinitions: app}); err != nil {
		t.Fatalf("registration without tags must still work: %v", err)
	}
}

func TestListTaskDefinitions(t *testing.T) {
	_, c, ctx := startScaled(t, Options{})
	for range 5 {
		registerRevision(ctx, t, c, "web", "nginx")
	}
	registerRevision(ctx, t, c, "web-worker", "nginx")
	registerRevision(ctx, t, c, "api", "nginx")
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:3")}); err != nil {
		t.Fatal(err)
	}
	suffixes := func(arns []string) string {
		var out []string
		for _, a := range arns {
			out = append(out, a[strings.LastIndex(a, "/")+1:])
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
		want string
	}{
		{name: "all active", in: ecs.ListTaskDefinitionsInput{}, want: "api:1,web:1,web:2,web:4,web:5,web-worker:1"},
		{name: "family is exact", in: ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")}, want: "web:1,web:2,web:4,web:5"},
		{name: "desc", in: ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc}, want: "web:5,web:4,web:2,web:1"},
		{name: "inactive", in: ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, want: "web:3"},
	}
	for _, tc := range cases {
		out, err := c.ListTaskDefinitions(ctx, &tc.in)
		if err != nil || suffixes(out.TaskDefinitionArns) != tc.want {
			t.Errorf("%s: got %v %v, want %s", tc.name, out, err, tc.want)
		}
	}
	// Pagination through the SDK's own paginator.
	var all []string
	pages := ecs.NewListTaskDefinitionsPaginator(c, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc, MaxResults: aws.Int32(3)})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n++
		all = append(all, page.TaskDefinitionArns...)
	}
	if n != 2 || suffixes(all) != "web:5,web:4,web:2,web:1" {
		t.Fatalf("paginated %d pages: %s", n, suffixes(all))
	}
	fams, err := c.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web")})
	if err != nil || strings.Join(fams.Families, ",") != "web,web-worker" {
		t.Fatalf("families %v %v", fams, err)
	}
	if _, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{NextToken: aws.String("garbage!")}); errorCode(err) != "InvalidParameterException" {
		t.Fatalf("bad token: %v", err)
	}
}

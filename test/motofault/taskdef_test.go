package motofault

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/test/moto"
)

const (
	richFamily = "web-rich"
	runID      = "run-7f3a"
)

// richTaskDefinition uses every setting issue 3 names, on two containers of which only "app" is a target.
// Everything is given explicitly, so that moto's defaults for absent members do not hide a dropped field.
func richTaskDefinition() *ecs.RegisterTaskDefinitionInput {
	account := moto.AccountID
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(richFamily),
		TaskRoleArn:             aws.String("arn:aws:iam::" + account + ":role/web-task"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::" + account + ":role/web-execution"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("1024"),
		Memory:                  aws.String("2048"),
		PidMode:                 types.PidModeTask,
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureArm64, OperatingSystemFamily: types.OSFamilyLinux},
		EphemeralStorage:        &types.EphemeralStorage{SizeInGiB: 40},
		ProxyConfiguration: &types.ProxyConfiguration{
			Type:          types.ProxyConfigurationTypeAppmesh,
			ContainerName: aws.String("envoy"),
			Properties: []types.KeyValuePair{
				{Name: aws.String("IgnoredUID"), Value: aws.String("1337")},
				{Name: aws.String("ProxyIngressPort"), Value: aws.String("15000")},
				{Name: aws.String("ProxyEgressPort"), Value: aws.String("15001")},
				{Name: aws.String("AppPorts"), Value: aws.String("8080")},
				{Name: aws.String("EgressIgnoredIPs"), Value: aws.String("169.254.170.2,169.254.169.254")},
			},
		},
		PlacementConstraints: []types.TaskDefinitionPlacementConstraint{{
			Type:       types.TaskDefinitionPlacementConstraintTypeMemberOf,
			Expression: aws.String("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"),
		}},
		Volumes: []types.Volume{
			{Name: aws.String("scratch")},
			{Name: aws.String("shared"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{
				FileSystemId:      aws.String("fs-0123456789abcdef0"),
				RootDirectory:     aws.String("/web"),
				TransitEncryption: types.EFSTransitEncryptionEnabled,
				AuthorizationConfig: &types.EFSAuthorizationConfig{
					AccessPointId: aws.String("fsap-0123456789abcdef0"), Iam: types.EFSAuthorizationConfigIAMEnabled,
				},
			}},
		},
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name:              aws.String("app"),
				Image:             aws.String(account + ".dkr.ecr.us-east-1.amazonaws.com/web:1.4.2"),
				Essential:         aws.Bool(true),
				Cpu:               768,
				Memory:            aws.Int32(1536),
				MemoryReservation: aws.Int32(1024),
				User:              aws.String("1000"),
				StopTimeout:       aws.Int32(45),
				Environment: []types.KeyValuePair{
					{Name: aws.String("MODE"), Value: aws.String("production")},
					{Name: aws.String("PORT"), Value: aws.String("8080")},
				},
				PortMappings: []types.PortMapping{{
					Name: aws.String("http"), ContainerPort: aws.Int32(8080), HostPort: aws.Int32(8080),
					Protocol: types.TransportProtocolTcp, AppProtocol: types.ApplicationProtocolHttp,
				}},
				HealthCheck: &types.HealthCheck{
					Command:  []string{"CMD-SHELL", "curl -fs http://localhost:8080/health || exit 1"},
					Interval: aws.Int32(15), Timeout: aws.Int32(5), Retries: aws.Int32(4), StartPeriod: aws.Int32(20),
				},
				LogConfiguration: &types.LogConfiguration{
					LogDriver: types.LogDriverAwslogs,
					Options: map[string]string{
						"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app",
					},
				},
				DependsOn: []types.ContainerDependency{{ContainerName: aws.String("envoy"), Condition: types.ContainerConditionHealthy}},
				Ulimits:   []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 65536, HardLimit: 65536}},
				MountPoints: []types.MountPoint{
					{SourceVolume: aws.String("scratch"), ContainerPath: aws.String("/tmp/scratch"), ReadOnly: aws.Bool(false)},
					{SourceVolume: aws.String("shared"), ContainerPath: aws.String("/srv/shared"), ReadOnly: aws.Bool(true)},
				},
				VolumesFrom:  []types.VolumeFrom{},
				DockerLabels: map[string]string{"team": "web", "com.example.tier": "frontend"},
			},
			{
				Name:      aws.String("envoy"),
				Image:     aws.String("840364872350.dkr.ecr.us-east-1.amazonaws.com/aws-appmesh-envoy:v1.29.6.0-prod"),
				Essential: aws.Bool(true),
				Cpu:       256,
				Memory:    aws.Int32(512),
				User:      aws.String("1337"),
				Environment: []types.KeyValuePair{
					{Name: aws.String("APPMESH_RESOURCE_ARN"), Value: aws.String("arn:aws:appmesh:us-east-1:" + account + ":mesh/web/virtualNode/web")},
				},
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(9901), HostPort: aws.Int32(9901), Protocol: types.TransportProtocolTcp}},
				HealthCheck: &types.HealthCheck{
					Command:  []string{"CMD-SHELL", "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE"},
					Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(3), StartPeriod: aws.Int32(10),
				},
				LogConfiguration: &types.LogConfiguration{
					LogDriver: types.LogDriverAwslogs,
					Options:   map[string]string{"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "envoy"},
				},
				Ulimits:      []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 15000, HardLimit: 15000}},
				MountPoints:  []types.MountPoint{},
				VolumesFrom:  []types.VolumeFrom{},
				DockerLabels: map[string]string{"team": "mesh"},
			},
		},
		Tags: []types.Tag{
			{Key: aws.String("team"), Value: aws.String("web")},
			{Key: aws.String("cost-center"), Value: aws.String("4711")},
			{Key: aws.String("owner"), Value: aws.String("sre@example.com")},
		},
	}
}

// perRevisionFields differ between any two revisions of a family, on AWS as on moto; they are left out of the
// field-by-field comparison, each for its reason.
var perRevisionFields = []struct{ field, why string }{
	{"TaskDefinitionArn", "a new revision has its own ARN"},
	{"Revision", "a new revision has its own number"},
	{"RegisteredAt", "set per revision by AWS; moto never sets it (test/contract: TaskDefinition.registeredAt)"},
	{"RegisteredBy", "the caller that registered the revision; moto never sets it (test/moto/README.md)"},
	{"DeregisteredAt", "set when a revision is deregistered; moto never sets it (test/contract: DeregisterTaskDefinition)"},
}

// testChaosCopy registers a rich task definition in moto, re-registers it through taskdef.Chaos and holds the
// described chaos revision to "identical but for the target images and the marker".
//
// Known moto differences this test works around, by name (test/contract motoDifferences):
//   - "RegisterTaskDefinition answer tags": moto leaves tags out of the answer, so tags are read with
//     DescribeTaskDefinition include=TAGS, as the fault does;
//   - "DescribeTaskDefinition by family ...": moto returns the highest revision, so revisions are read by ARN.
func testChaosCopy(t *testing.T, srv *moto.Server) {
	ctx := t.Context()
	srv.Reset(t)
	client := ecs.NewFromConfig(srv.AWSConfig(t))

	input := richTaskDefinition()
	registered, err := client.RegisterTaskDefinition(ctx, input)
	check(t, "RegisterTaskDefinition of the rich original", err)
	originalARN := aws.ToString(registered.TaskDefinition.TaskDefinitionArn)
	original, originalTags := describeTaskDefinition(ctx, t, client, originalARN)

	// The comparison below means something only if moto kept every setting: the original, copied back into a
	// RegisterTaskDefinition input, must be what was registered.
	if diffs := diffsOf(*taskdef.RegisterInput(original, originalTags), *input); len(diffs) > 0 {
		t.Fatalf("moto did not keep the original as registered; differing fields: %v", diffs)
	}

	image, err := taskdef.ResolveChaosImage("nginx", runID)
	check(t, "ResolveChaosImage", err)
	serviceARN := "arn:aws:ecs:" + srv.Region + ":" + moto.AccountID + ":service/chaos/web"
	marker := taskdef.Marker{
		RunID: runID,
		DeploymentConfiguration: `{"maximumPercent": 200, "minimumHealthyPercent": 50,
			"deploymentCircuitBreaker": {"enable": true, "rollback": true}}`,
		Services: []string{serviceARN},
	}
	chaosInput, warnings, err := taskdef.Chaos(original, originalTags, image, []string{"app"}, marker)
	check(t, "taskdef.Chaos", err)
	if len(warnings) > 0 {
		t.Errorf("taskdef.Chaos warned about tags ECS accepts: %v", warnings)
	}
	chaosRegistered, err := client.RegisterTaskDefinition(ctx, chaosInput)
	check(t, "RegisterTaskDefinition of the chaos revision", err)
	chaosARN := aws.ToString(chaosRegistered.TaskDefinition.TaskDefinitionArn)
	chaos, chaosTags := describeTaskDefinition(ctx, t, client, chaosARN)

	t.Run("identical but for target images and marker labels", func(t *testing.T) {
		allowed := []string{"ContainerDefinitions[0].Image"}
		for _, label := range []string{
			taskdef.LabelRunID, taskdef.LabelOriginalTaskDefinition, taskdef.LabelOriginalRevision,
			taskdef.LabelDeploymentConfiguration, taskdef.LabelChaosImage, taskdef.LabelServices, taskdef.LabelMarkerVersion,
		} {
			allowed = append(allowed, fmt.Sprintf("ContainerDefinitions[0].DockerLabels[%s]", label))
		}
		var diffs []string
		for _, d := range diffsOf(*original, *chaos) {
			if !slices.ContainsFunc(perRevisionFields, func(f struct{ field, why string }) bool { return f.field == d }) {
				diffs = append(diffs, d)
			}
		}
		extra, missing := unexpected(diffs, allowed)
		if len(extra) > 0 {
			t.Errorf("the chaos revision differs from the original in fields other than the target image and the marker: %v", extra)
		}
		if len(missing) > 0 {
			t.Errorf("the chaos revision does not differ where it must: %v", missing)
		}
		if got := aws.ToString(chaos.ContainerDefinitions[0].Image); got != image.Reference {
			t.Errorf("target container image %q, want %q", got, image.Reference)
		}
		if got, want := aws.ToString(chaos.ContainerDefinitions[1].Image), aws.ToString(original.ContainerDefinitions[1].Image); got != want {
			t.Errorf("non-target container image %q, want the original %q", got, want)
		}
		for _, f := range perRevisionFields {
			t.Logf("not compared: %s (%s)", f.field, f.why)
		}
		if chaos.Revision != original.Revision+1 || familyOf(chaosARN) != richFamily {
			t.Errorf("chaos revision %s, want revision %d of family %s", chaosARN, original.Revision+1, richFamily)
		}
	})

	t.Run("tags are the original's plus the marker's", func(t *testing.T) {
		want := tagMap(originalTags)
		want[taskdef.TagRunID] = runID
		want[taskdef.TagOriginalRevision] = fmt.Sprint(original.Revision)
		if got := tagMap(chaosTags); !reflect.DeepEqual(got, want) {
			t.Errorf("chaos revision tags %v, want %v", got, want)
		}
		if len(originalTags) != len(input.Tags) {
			t.Errorf("original tags %v, want the %d registered", tagMap(originalTags), len(input.Tags))
		}
	})

	t.Run("marker round-trips", func(t *testing.T) {
		got, ok, err := taskdef.ReadMarker(chaos)
		if err != nil || !ok {
			t.Fatalf("ReadMarker on the described chaos revision: found %v, err %v", ok, err)
		}
		want := taskdef.Marker{
			RunID:                     runID,
			OriginalTaskDefinitionARN: originalARN,
			OriginalRevision:          original.Revision,
			DeploymentConfiguration:   `{"maximumPercent":200,"minimumHealthyPercent":50,"deploymentCircuitBreaker":{"enable":true,"rollback":true}}`,
			ChaosImage:                image.Reference,
			Services:                  []string{serviceARN},
			Version:                   taskdef.MarkerVersion,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("marker read back\n got %+v\nwant %+v", got, want)
		}
		if _, ok, err := taskdef.ReadMarker(original); ok || err != nil {
			t.Errorf("ReadMarker on the original: found %v, err %v; want no marker", ok, err)
		}
	})
}

// familyOf returns the family of a task definition ARN.
func familyOf(arn string) string {
	name := arn[strings.LastIndexByte(arn, '/')+1:]
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	return name
}

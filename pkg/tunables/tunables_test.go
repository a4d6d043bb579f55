package tunables

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

// memFS is an in-memory FileSystem; a nil entry is a directory.
type memFS struct {
	files  map[string]*string
	denied map[string]bool
}

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	return map[bool]fs.FileMode{true: fs.ModeDir | 0o755, false: 0o644}[i.dir]
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }

func (m memFS) Stat(name string) (fs.FileInfo, error) {
	content, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	if content == nil {
		return memInfo{name: name, dir: true}, nil
	}
	return memInfo{name: name, size: int64(len(*content))}, nil
}

func (m memFS) ReadFile(name string) ([]byte, error) {
	if m.denied[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	if _, err := m.Stat(name); err != nil {
		return nil, err
	}
	if m.files[name] == nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	return []byte(*m.files[name]), nil
}

func file(s string) *string { return &s }

// fakeKeys are obviously fake test values; the tests also check that they never appear in an error.
const (
	fakeKeyID  = "AKIAFAKEFAKEFAKE0001"
	fakeSecret = "fakeSecretValueThatMustNeverBeLogged0001"
)

var validCredentials = "[default]\naws_access_key_id = " + fakeKeyID + "\naws_secret_access_key = " + fakeSecret + "\n"

func lookupFrom(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func baseEnv() map[string]string {
	return map[string]string{"CLUSTER_NAME": "prod", "SERVICE_NAME": "web", "REGION": "us-east-1"}
}

func with(overrides map[string]string) map[string]string {
	env := baseEnv()
	for k, v := range overrides {
		if v == "<unset>" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	return env
}

func TestLoadDefaults(t *testing.T) {
	got, err := Load(lookupFrom(baseEnv()), memFS{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		ClusterName: "prod", Services: []string{"web"}, Region: "us-east-1", Image: "nginx", ImageRef: mustImage(t, "nginx"),
		AffectedPercent:    100,
		TotalChaosDuration: 30 * time.Second, ChaosInterval: 30 * time.Second, RampTime: 0,
		StatusCheckTimeout: 180 * time.Second, StatusCheckDelay: 2 * time.Second, TerminationGracePeriod: 30 * time.Second,
		Sequence:       SequenceParallel,
		ChaosNamespace: "default", ExperimentName: "ecs-invalid-container-image",
		LogLevel: "info", LogFormat: "text",
		ExpectHealthyTasks: -1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadValidValues(t *testing.T) {
	env := map[string]string{
		"CLUSTER_NAME":                     "arn:aws:ecs:eu-central-2:123456789012:cluster/prod",
		"SERVICE_NAME":                     " web , arn:aws:ecs:eu-central-2:123456789012:service/prod/api,worker_2",
		"AWS_REGION":                       "eu-central-2",
		"IMAGE":                            "Registry.Example:5000/app",
		"TARGET_CONTAINERS":                "app, sidecar",
		"TASK_REPLICA_AFFECTED_PERC":       "0",
		"TOTAL_CHAOS_DURATION":             "600",
		"CHAOS_INTERVAL":                   "120",
		"RAMP_TIME":                        "5",
		"SEQUENCE":                         "Serial",
		"STATUS_CHECK_TIMEOUT":             "300",
		"STATUS_CHECK_DELAY":               "5",
		"TERMINATION_GRACE_PERIOD_SECONDS": "90",
		"JOB_UID":                          "5f0c3a5e-8a43-4b7e-9d39-1b8f3c0e2d11",
		"ASSUME_ROLE_ARN":                  "arn:aws:iam::123456789012:role/chaos/ecs-chaos",
		"AWS_AUTHENTICATION_SECRET":        "cloud-secret",
		"AWS_PROFILE":                      "chaos",
		"CHAOSENGINE":                      "engine",
		"POD_NAMESPACE":                    "litmus",
		"INSTANCE_ID":                      "run1",
		"LOG_LEVEL":                        "DEBUG",
		"LOG_FORMAT":                       "JSON",
		"EXPECT_ROLLBACK_WITHIN":           "120",
		"EXPECT_HEALTHY_TASKS":             "0",
		"EXPECT_ALARMS":                    "high-5xx, Service Unhealthy",
		"SOME_UNKNOWN_VARIABLE":            "ignored",
	}
	files := memFS{files: map[string]*string{"/tmp/cloud_config.yml": file(validCredentials +
		"\n[base]\naws_access_key_id=x\naws_secret_access_key=y\n[chaos]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = base\n")}}
	got, err := Load(lookupFrom(env), files)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		ClusterName:        env["CLUSTER_NAME"],
		Services:           []string{"web", "arn:aws:ecs:eu-central-2:123456789012:service/prod/api", "worker_2"},
		Region:             "eu-central-2",
		Image:              "Registry.Example:5000/app",
		ImageRef:           mustImage(t, "Registry.Example:5000/app"),
		TargetContainers:   []string{"app", "sidecar"},
		TotalChaosDuration: 600 * time.Second, ChaosInterval: 120 * time.Second, RampTime: 5 * time.Second,
		StatusCheckTimeout: 300 * time.Second, StatusCheckDelay: 5 * time.Second, TerminationGracePeriod: 90 * time.Second,
		Sequence:              SequenceSerial,
		AssumeRoleARN:         env["ASSUME_ROLE_ARN"],
		AuthenticationSecret:  "cloud-secret",
		SharedCredentialsFile: "/tmp/cloud_config.yml",
		Profile:               "chaos",
		ChaosEngine:           "engine", ChaosNamespace: "litmus", ExperimentName: "ecs-invalid-container-image", InstanceID: "run1",
		JobUID:   "5f0c3a5e-8a43-4b7e-9d39-1b8f3c0e2d11",
		LogLevel: "debug", LogFormat: "json",
		ExpectRollbackWithin: 120 * time.Second, ExpectHealthyTasks: 0, ExpectAlarms: []string{"high-5xx", "Service Unhealthy"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadAcceptsEveryUsableProfileShape(t *testing.T) {
	for name, content := range map[string]string{
		"static keys":         validCredentials,
		"credential_process":  "[default]\ncredential_process = /bin/creds\n",
		"sso session":         "[default]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = chaos\n",
		"legacy sso":          "[default]\nsso_start_url = https://example.invalid/start\nsso_region = us-east-1\n",
		"role with source":    "[default]\nrole_arn = arn:aws:iam::123456789012:role/x\ncredential_source = Environment\n",
		"comments and CRLF":   "# header\r\n[default]\r\n; note\r\naws_access_key_id = a\r\naws_secret_access_key = b\r\n",
		"nested continuation": "[default]\naws_access_key_id = a\naws_secret_access_key = b\ns3 =\n  max_concurrent_requests = 10\n",
	} {
		t.Run(name, func(t *testing.T) {
			env := with(map[string]string{"AWS_AUTHENTICATION_SECRET": "s"})
			if _, err := Load(lookupFrom(env), memFS{files: map[string]*string{DefaultSharedCredentialsFile: file(content)}}); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func TestLoadRegionFallbacks(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"REGION": "<unset>", "AWS_REGION": "cn-north-1"}, "cn-north-1"},
		{map[string]string{"REGION": "<unset>", "AWS_DEFAULT_REGION": "us-gov-west-1"}, "us-gov-west-1"},
		{map[string]string{"REGION": "ap-southeast-4", "AWS_REGION": "us-east-1"}, "ap-southeast-4"},
		{map[string]string{"REGION": "", "AWS_REGION": "il-central-1"}, "il-central-1"},
	} {
		got, err := Load(lookupFrom(with(tc.env)), memFS{})
		if err != nil || got.Region != tc.want {
			t.Errorf("%v: region %q, err %v; want %q", tc.env, got.Region, err, tc.want)
		}
	}
}

func TestLoadSharedCredentialsFileWithoutSecretIsKeptAsGiven(t *testing.T) {
	got, err := Load(lookupFrom(with(map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "/home/me/.aws/credentials"})), memFS{})
	if err != nil || got.SharedCredentialsFile != "/home/me/.aws/credentials" {
		t.Fatalf("got %q, %v", got.SharedCredentialsFile, err)
	}
}

func TestLoadRejects(t *testing.T) {
	const secretWhere = `the credentials file from secret "cloud" at "/tmp/cloud_config.yml"`
	withSecret := func(extra map[string]string) map[string]string {
		env := with(extra)
		if _, ok := extra["AWS_AUTHENTICATION_SECRET"]; !ok {
			env["AWS_AUTHENTICATION_SECRET"] = "cloud"
		}
		return env
	}
	cases := []struct {
		name  string
		env   map[string]string
		files map[string]*string
		want  Problem
	}{
		{"cluster missing", with(map[string]string{"CLUSTER_NAME": "<unset>"}), nil,
			Problem{"CLUSTER_NAME", "is not set; allowed: " + ruleClusterName}},
		{"cluster blank", with(map[string]string{"CLUSTER_NAME": "   "}), nil,
			Problem{"CLUSTER_NAME", "is not set; allowed: " + ruleClusterName}},
		{"cluster bad characters", with(map[string]string{"CLUSTER_NAME": "prod/eu"}), nil,
			Problem{"CLUSTER_NAME", `"prod/eu" is not a cluster name; allowed: ` + ruleClusterName}},
		{"cluster name too long", with(map[string]string{"CLUSTER_NAME": strings.Repeat("a", 256)}), nil,
			Problem{"CLUSTER_NAME", quote(strings.Repeat("a", 256)) + " is not a cluster name; allowed: " + ruleClusterName}},
		{"cluster ARN malformed", with(map[string]string{"CLUSTER_NAME": "arn:aws:ecs:us-east-1:1234:cluster/prod"}), nil,
			Problem{"CLUSTER_NAME", `"arn:aws:ecs:us-east-1:1234:cluster/prod" is not an ECS cluster ARN; allowed: ` + ruleClusterName}},
		{"cluster ARN other region", with(map[string]string{"CLUSTER_NAME": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"}), nil,
			Problem{"CLUSTER_NAME", `"arn:aws:ecs:eu-west-1:123456789012:cluster/prod" is in region "eu-west-1", not in REGION "us-east-1"; allowed: ` + ruleClusterName}},
		{"cluster ARN wrong partition", with(map[string]string{"REGION": "cn-north-1", "CLUSTER_NAME": "arn:aws:ecs:cn-north-1:123456789012:cluster/prod"}), nil,
			Problem{"CLUSTER_NAME", `"arn:aws:ecs:cn-north-1:123456789012:cluster/prod" has partition "aws", but region cn-north-1 belongs to aws-cn; allowed: ` + ruleClusterName}},
		{"service missing", with(map[string]string{"SERVICE_NAME": "<unset>"}), nil,
			Problem{"SERVICE_NAME", "is not set; allowed: " + ruleServiceName}},
		{"service empty entry", with(map[string]string{"SERVICE_NAME": "web,,api"}), nil,
			Problem{"SERVICE_NAME", `entry 2 of "web,,api" is empty; allowed: ` + ruleServiceName}},
		{"service trailing comma", with(map[string]string{"SERVICE_NAME": "web, "}), nil,
			Problem{"SERVICE_NAME", `entry 2 of "web," is empty; allowed: ` + ruleServiceName}},
		{"service duplicate", with(map[string]string{"SERVICE_NAME": "web, api ,web"}), nil,
			Problem{"SERVICE_NAME", `"web" is listed twice; allowed: ` + ruleServiceName}},
		{"service bad name", with(map[string]string{"SERVICE_NAME": "web app"}), nil,
			Problem{"SERVICE_NAME", `"web app" is not a service name; allowed: ` + ruleServiceName}},
		{"service ARN other cluster", with(map[string]string{"SERVICE_NAME": "arn:aws:ecs:us-east-1:123456789012:service/staging/web"}), nil,
			Problem{"SERVICE_NAME", `"arn:aws:ecs:us-east-1:123456789012:service/staging/web" belongs to cluster "staging", not to CLUSTER_NAME "prod"; allowed: ` + ruleServiceName}},
		{"service ARN other region", with(map[string]string{"SERVICE_NAME": "arn:aws:ecs:us-west-2:123456789012:service/web"}), nil,
			Problem{"SERVICE_NAME", `"arn:aws:ecs:us-west-2:123456789012:service/web" is in region "us-west-2", not in REGION "us-east-1"; allowed: ` + ruleServiceName}},
		{"service ARN malformed", with(map[string]string{"SERVICE_NAME": "arn:aws:ecs:us-east-1:123456789012:task/web"}), nil,
			Problem{"SERVICE_NAME", `"arn:aws:ecs:us-east-1:123456789012:task/web" is not an ECS service ARN; allowed: ` + ruleServiceName}},
		{"region missing everywhere", with(map[string]string{"REGION": "<unset>"}), nil,
			Problem{"REGION", "is not set (nor AWS_REGION or AWS_DEFAULT_REGION); allowed: " + ruleRegion}},
		{"region malformed", with(map[string]string{"REGION": "us-east"}), nil,
			Problem{"REGION", `"us-east" is not an AWS region name; allowed: ` + ruleRegion}},
		{"region upper case", with(map[string]string{"REGION": "US-EAST-1"}), nil,
			Problem{"REGION", `"US-EAST-1" is not an AWS region name; allowed: ` + ruleRegion}},
		{"AWS_REGION fallback malformed", with(map[string]string{"REGION": "<unset>", "AWS_REGION": "virginia"}), nil,
			Problem{"AWS_REGION", `"virginia" is not an AWS region name; allowed: ` + ruleRegion}},
		{"image upper case", with(map[string]string{"IMAGE": "Nginx"}), nil,
			Problem{"IMAGE", `"Nginx" is not an image reference: the repository name must be lower-case; allowed: ` + ruleImage}},
		{"image upper-case repository behind a registry", with(map[string]string{"IMAGE": "ghcr.io/Org/app:1"}), nil,
			Problem{"IMAGE", `"ghcr.io/Org/app:1" is not an image reference: the repository name must be lower-case; allowed: ` + ruleImage}},
		{"image bad tag", with(map[string]string{"IMAGE": "nginx:-bad"}), nil,
			Problem{"IMAGE", `"nginx:-bad" is not an image reference: the tag must be 1-128 letters, digits, _, . and -, not starting with . or -; allowed: ` + ruleImage}},
		{"image bad digest", with(map[string]string{"IMAGE": "nginx@sha256:abc"}), nil,
			Problem{"IMAGE", `"nginx@sha256:abc" is not an image reference: the digest must look like sha256:<64 lower-case hex digits>; allowed: ` + ruleImage}},
		{"image with spaces", with(map[string]string{"IMAGE": "my image"}), nil,
			Problem{"IMAGE", `"my image" is not an image reference: expected [registry[:port]/]repository[:tag][@digest] with a lower-case repository (invalid reference format); allowed: ` + ruleImage}},
		{"target containers duplicate", with(map[string]string{"TARGET_CONTAINERS": "app,app"}), nil,
			Problem{"TARGET_CONTAINERS", `"app" is listed twice; allowed: ` + ruleTargetContainers}},
		{"target containers bad name", with(map[string]string{"TARGET_CONTAINERS": "app,side car"}), nil,
			Problem{"TARGET_CONTAINERS", `"side car" is not a valid container name; allowed: ` + ruleTargetContainers}},
		{"percent above 100", with(map[string]string{"TASK_REPLICA_AFFECTED_PERC": "101"}), nil,
			Problem{"TASK_REPLICA_AFFECTED_PERC", `"101" is too large (at most 100); allowed: ` + rulePercent}},
		{"percent negative", with(map[string]string{"TASK_REPLICA_AFFECTED_PERC": "-1"}), nil,
			Problem{"TASK_REPLICA_AFFECTED_PERC", `"-1" has a sign; allowed: ` + rulePercent}},
		{"percent fraction", with(map[string]string{"TASK_REPLICA_AFFECTED_PERC": "50.5"}), nil,
			Problem{"TASK_REPLICA_AFFECTED_PERC", `"50.5" is not a whole number; allowed: ` + rulePercent}},
		{"duration zero", with(map[string]string{"TOTAL_CHAOS_DURATION": "0"}), nil,
			Problem{"TOTAL_CHAOS_DURATION", `"0" is too small (at least 1); allowed: ` + rulePositiveSeconds}},
		{"duration with unit", with(map[string]string{"TOTAL_CHAOS_DURATION": "30s"}), nil,
			Problem{"TOTAL_CHAOS_DURATION", `"30s" is not a whole number; allowed: ` + rulePositiveSeconds}},
		{"duration plus sign", with(map[string]string{"TOTAL_CHAOS_DURATION": "+30"}), nil,
			Problem{"TOTAL_CHAOS_DURATION", `"+30" has a sign; allowed: ` + rulePositiveSeconds}},
		{"duration overflow", with(map[string]string{"TOTAL_CHAOS_DURATION": "99999999999999999999999"}), nil,
			Problem{"TOTAL_CHAOS_DURATION", `"99999999999999999999999" is too large (at most 2147483647); allowed: ` + rulePositiveSeconds}},
		{"interval exponent", with(map[string]string{"CHAOS_INTERVAL": "1e3"}), nil,
			Problem{"CHAOS_INTERVAL", `"1e3" is not a whole number; allowed: ` + rulePositiveSeconds}},
		{"interval zero", with(map[string]string{"CHAOS_INTERVAL": "0"}), nil,
			Problem{"CHAOS_INTERVAL", `"0" is too small (at least 1); allowed: ` + rulePositiveSeconds}},
		{"ramp negative", with(map[string]string{"RAMP_TIME": "-5"}), nil,
			Problem{"RAMP_TIME", `"-5" has a sign; allowed: ` + ruleSeconds}},
		{"sequence unknown", with(map[string]string{"SEQUENCE": "random"}), nil,
			Problem{"SEQUENCE", `"random" is not a sequence; allowed: ` + ruleSequence}},
		{"status timeout zero", with(map[string]string{"STATUS_CHECK_TIMEOUT": "0", "STATUS_CHECK_DELAY": "1"}), nil,
			Problem{"STATUS_CHECK_TIMEOUT", `"0" is too small (at least 1); allowed: ` + rulePositiveSeconds}},
		{"status delay zero", with(map[string]string{"STATUS_CHECK_DELAY": "0"}), nil,
			Problem{"STATUS_CHECK_DELAY", `"0" is too small (at least 1); allowed: ` + ruleStatusCheckDelay}},
		{"status delay not below timeout", with(map[string]string{"STATUS_CHECK_TIMEOUT": "10", "STATUS_CHECK_DELAY": "10"}), nil,
			Problem{"STATUS_CHECK_DELAY", "is not less than STATUS_CHECK_TIMEOUT (10s >= 10s); allowed: " + ruleStatusCheckDelay}},
		{"grace period negative", with(map[string]string{"TERMINATION_GRACE_PERIOD_SECONDS": "-1"}), nil,
			Problem{"TERMINATION_GRACE_PERIOD_SECONDS", `"-1" has a sign; allowed: ` + ruleGracePeriod}},
		{"job uid with a slash", with(map[string]string{"JOB_UID": "a/b"}), nil,
			Problem{"JOB_UID", `"a/b" is not a Kubernetes uid; allowed: ` + ruleJobUID}},
		{"job uid too long", with(map[string]string{"JOB_UID": strings.Repeat("a", 65)}), nil,
			Problem{"JOB_UID", `"` + strings.Repeat("a", 65) + `" is not a Kubernetes uid; allowed: ` + ruleJobUID}},
		{"assume role is a user", with(map[string]string{"ASSUME_ROLE_ARN": "arn:aws:iam::123456789012:user/bob"}), nil,
			Problem{"ASSUME_ROLE_ARN", "is not an IAM role ARN; allowed: " + ruleAssumeRoleARN}},
		{"secret name invalid", withSecret(map[string]string{"AWS_AUTHENTICATION_SECRET": "my secret"}), map[string]*string{DefaultSharedCredentialsFile: file(validCredentials)},
			Problem{"AWS_AUTHENTICATION_SECRET", `"my secret" is not a secret name; allowed: ` + ruleSecretName}},
		{"secret not mounted", withSecret(map[string]string{}), nil,
			Problem{"AWS_AUTHENTICATION_SECRET", secretWhere + " cannot be opened (it does not exist); mount the secret there or set AWS_SHARED_CREDENTIALS_FILE; allowed: " + ruleCredentialsFile}},
		{"secret mounted as directory", withSecret(map[string]string{}), map[string]*string{DefaultSharedCredentialsFile: nil},
			Problem{"AWS_AUTHENTICATION_SECRET", secretWhere + " is a directory; mount the secret's key as a file (subPath) or point AWS_SHARED_CREDENTIALS_FILE at the file inside it; allowed: " + ruleCredentialsFile}},
		{"secret file empty", withSecret(map[string]string{}), map[string]*string{DefaultSharedCredentialsFile: file(" \n\n")},
			Problem{"AWS_AUTHENTICATION_SECRET", secretWhere + " is empty; allowed: " + ruleCredentialsFile}},
		{"secret file is JSON", withSecret(map[string]string{}), map[string]*string{DefaultSharedCredentialsFile: file(`{"aws_access_key_id":"` + fakeKeyID + `"}`)},
			Problem{"AWS_AUTHENTICATION_SECRET", secretWhere + " is not an AWS credentials file; allowed: " + ruleCredentialsFile}},
		{"secret file has only a key id", withSecret(map[string]string{}), map[string]*string{DefaultSharedCredentialsFile: file("[default]\naws_access_key_id = " + fakeKeyID + "\n")},
			Problem{"AWS_AUTHENTICATION_SECRET", secretWhere + " is not an AWS credentials file; allowed: " + ruleCredentialsFile}},
		{"secret file uses config-file profile prefix", withSecret(map[string]string{}), map[string]*string{DefaultSharedCredentialsFile: file("[profile default]\naws_access_key_id = a\naws_secret_access_key = " + fakeSecret + "\n")},
			Problem{"AWS_AUTHENTICATION_SECRET", secretWhere + " is not an AWS credentials file; allowed: " + ruleCredentialsFile}},
		{"secret file at custom path missing", withSecret(map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "/secrets/aws"}), nil,
			Problem{"AWS_AUTHENTICATION_SECRET", `the credentials file from secret "cloud" at "/secrets/aws" cannot be opened (it does not exist); mount the secret there or set AWS_SHARED_CREDENTIALS_FILE; allowed: ` + ruleCredentialsFile}},
		{"profile not in file", withSecret(map[string]string{"AWS_PROFILE": "prod"}), map[string]*string{DefaultSharedCredentialsFile: file(validCredentials)},
			Problem{"AWS_PROFILE", "names a profile that is not in " + secretWhere + "; allowed: " + ruleProfile}},
		{"no default profile", withSecret(map[string]string{}), map[string]*string{DefaultSharedCredentialsFile: file(strings.Replace(validCredentials, "[default]", "[ops]", 1))},
			Problem{"AWS_PROFILE", "is not set and " + secretWhere + " has no [default] profile; allowed: " + ruleProfile}},
		{"selected profile without credentials", withSecret(map[string]string{"AWS_PROFILE": "empty"}), map[string]*string{DefaultSharedCredentialsFile: file(validCredentials + "[empty]\nregion = us-east-1\n")},
			Problem{"AWS_PROFILE", "the selected profile in " + secretWhere + " holds no credentials; allowed: " + ruleProfile}},
		{"namespace invalid", with(map[string]string{"CHAOS_NAMESPACE": "Litmus_NS"}), nil,
			Problem{"CHAOS_NAMESPACE", `"Litmus_NS" is not a namespace name; allowed: ` + ruleNamespace}},
		{"pod namespace invalid", with(map[string]string{"POD_NAMESPACE": "a.b"}), nil,
			Problem{"POD_NAMESPACE", `"a.b" is not a namespace name; allowed: ` + ruleNamespace}},
		{"engine invalid", with(map[string]string{"CHAOSENGINE": "Engine"}), nil,
			Problem{"CHAOSENGINE", `"Engine" is not a Kubernetes object name; allowed: ` + ruleObjectName}},
		{"instance breaks result name", with(map[string]string{"CHAOSENGINE": "engine", "INSTANCE_ID": "Run_1"}), nil,
			Problem{"INSTANCE_ID", `makes the ChaosResult name "engine-ecs-invalid-container-image-Run_1" invalid; allowed: ` + ruleResultName}},
		{"probes file missing", with(map[string]string{"PROBES_FILE": "/probes.yaml"}), nil,
			Problem{"PROBES_FILE", `"/probes.yaml" cannot be opened (it does not exist); allowed: ` + ruleProbesFile}},
		{"log level unknown", with(map[string]string{"LOG_LEVEL": "verbose"}), nil,
			Problem{"LOG_LEVEL", `"verbose" is not a log level; allowed: ` + ruleLogLevel}},
		{"log format unknown", with(map[string]string{"LOG_FORMAT": "logfmt"}), nil,
			Problem{"LOG_FORMAT", `"logfmt" is not a log format; allowed: ` + ruleLogFormat}},
		{"rollback longer than the hold", with(map[string]string{"TOTAL_CHAOS_DURATION": "60", "CHAOS_INTERVAL": "45", "EXPECT_ROLLBACK_WITHIN": "50"}), nil,
			Problem{"EXPECT_ROLLBACK_WITHIN", "is longer than the hold of one cycle (50s > 45s), so a rollback could never be seen in time; allowed: " + ruleRollbackWithin}},
		{"rollback zero", with(map[string]string{"EXPECT_ROLLBACK_WITHIN": "0"}), nil,
			Problem{"EXPECT_ROLLBACK_WITHIN", `"0" is too small (at least 1); allowed: ` + ruleRollbackWithin}},
		{"healthy tasks negative", with(map[string]string{"EXPECT_HEALTHY_TASKS": "-1"}), nil,
			Problem{"EXPECT_HEALTHY_TASKS", `"-1" has a sign; allowed: ` + ruleHealthyTasks}},
		{"alarms empty entry", with(map[string]string{"EXPECT_ALARMS": "a,,b"}), nil,
			Problem{"EXPECT_ALARMS", `entry 2 of "a,,b" is empty; allowed: ` + ruleAlarms}},
		{"alarm name with control character", with(map[string]string{"EXPECT_ALARMS": "a\tb"}), nil,
			Problem{"EXPECT_ALARMS", `"a\tb" is not a valid alarm name; allowed: ` + ruleAlarms}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(lookupFrom(tc.env), memFS{files: tc.files})
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Load error = %v, want a *ValidationError", err)
			}
			if len(verr.Problems) != 1 || verr.Problems[0] != tc.want {
				t.Fatalf("problems:\n got %q\nwant [%q]", verr.Problems, tc.want)
			}
			if strings.Contains(err.Error(), fakeSecret) || strings.Contains(err.Error(), fakeKeyID) {
				t.Fatalf("error leaks a credential value: %v", err)
			}
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	env := map[string]string{
		"SERVICE_NAME":              "web,web,bad name",
		"IMAGE":                     "UPPER",
		"TOTAL_CHAOS_DURATION":      "abc",
		"SEQUENCE":                  "sideways",
		"AWS_AUTHENTICATION_SECRET": "cloud",
		"AWS_PROFILE":               "ops",
	}
	files := memFS{
		files:  map[string]*string{DefaultSharedCredentialsFile: file(validCredentials)},
		denied: map[string]bool{DefaultSharedCredentialsFile: true},
	}
	_, err := Load(lookupFrom(env), files)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load error = %v, want a *ValidationError", err)
	}
	var got []string
	for _, p := range verr.Problems {
		got = append(got, p.Variable)
	}
	want := []string{"REGION", "CLUSTER_NAME", "SERVICE_NAME", "SERVICE_NAME", "IMAGE", "TOTAL_CHAOS_DURATION", "SEQUENCE", "AWS_AUTHENTICATION_SECRET"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("variables with problems = %q, want %q", got, want)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want)+1 {
		t.Fatalf("Error() has %d lines, want a header and one per problem:\n%s", len(lines), err)
	}
	for i, v := range want {
		if !strings.HasPrefix(lines[i+1], v+": ") || !strings.Contains(lines[i+1], "; allowed: ") {
			t.Errorf("line %d = %q, want %q: ...; allowed: ...", i+1, lines[i+1], v)
		}
	}
	if !strings.Contains(err.Error(), `"/tmp/cloud_config.yml" cannot be read (permission denied)`) {
		t.Errorf("unreadable secret file not reported in words:\n%s", err)
	}
}

func TestDefinitionsCoverEveryVariableLoadReads(t *testing.T) {
	defined := map[string]bool{}
	for _, d := range Definitions() {
		if d.Name == "" || d.Default == "" || d.Rule == "" || d.Description == "" {
			t.Errorf("incomplete definition %+v", d)
		}
		if defined[d.Name] {
			t.Errorf("%s defined twice", d.Name)
		}
		defined[d.Name] = true
	}
	read := map[string]bool{}
	_, _ = Load(func(k string) (string, bool) { read[k] = true; return "", false }, memFS{})
	fallbacks := map[string]bool{"AWS_REGION": true, "AWS_DEFAULT_REGION": true, "POD_NAMESPACE": true}
	for name := range read {
		if !defined[name] && !fallbacks[name] {
			t.Errorf("Load reads %s but Definitions does not describe it", name)
		}
	}
	for name := range defined {
		if !read[name] {
			t.Errorf("Definitions describes %s but Load never reads it", name)
		}
	}
}

func TestMarkdownHasOneRowPerDefinition(t *testing.T) {
	md := Markdown()
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	if len(lines) != len(Definitions())+2 {
		t.Fatalf("markdown has %d lines, want header, separator and %d rows", len(lines), len(Definitions()))
	}
	for i, d := range Definitions() {
		row := lines[i+2]
		if !strings.HasPrefix(row, "| `"+d.Name+"` |") {
			t.Errorf("row %d = %q, want it to start with %s", i, row, d.Name)
		}
		if strings.ContainsAny(row, "<>") {
			t.Errorf("row for %s has a raw angle bracket that markdown would hide: %q", d.Name, row)
		}
		// Four columns: five unescaped pipes.
		if n := strings.Count(row, "|") - strings.Count(row, `\|`); n != 5 {
			t.Errorf("row for %s has %d cell separators, want 5: %q", d.Name, n, row)
		}
	}
}

func TestQuoteBoundsLongValues(t *testing.T) {
	q := quote(strings.Repeat("é", 100))
	if !strings.HasSuffix(q, `"...`) || len(q) > maxQuoted+8 {
		t.Fatalf("quote = %q", q)
	}
}

// TestGracePeriodZeroIsKubernetesDefault: chaos-runner passes TERMINATION_GRACE_PERIOD_SECONDS "0" when the
// ChaosEngine leaves terminationGracePeriodSeconds unset (chaos-runner pkg/utils/environment.go, SetENV), and
// the pod then gets Kubernetes' default of 30 s: the fault's abort deadline must be measured against that.
func TestGracePeriodZeroIsKubernetesDefault(t *testing.T) {
	for value, want := range map[string]time.Duration{"0": 30 * time.Second, "": 30 * time.Second, "20": 20 * time.Second, "1": time.Second} {
		got, err := Load(lookupFrom(with(map[string]string{"TERMINATION_GRACE_PERIOD_SECONDS": value})), memFS{})
		if err != nil {
			t.Fatalf("%q: %v", value, err)
		}
		if got.TerminationGracePeriod != want {
			t.Errorf("TERMINATION_GRACE_PERIOD_SECONDS=%q: grace period %v, want %v", value, got.TerminationGracePeriod, want)
		}
	}
}

func mustImage(t *testing.T, raw string) taskdef.Image {
	t.Helper()
	img, err := taskdef.ParseImage(raw)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// An untagged IMAGE that fits ECS's 255 characters only without the chaos tag is refused at load, before any AWS
// call, rather than when the run builds its chaos image.
func TestImageTooLongForTheChaosTag(t *testing.T) {
	long := "registry.example/" + strings.Repeat("a", 220)
	_, err := Load(lookupFrom(with(map[string]string{"IMAGE": long})), memFS{})
	if err == nil || !strings.Contains(err.Error(), "IMAGE") || !strings.Contains(err.Error(), "exceeds ECS's 255 characters") {
		t.Fatalf("Load with a %d-character untagged IMAGE = %v, want the chaos tag's length named", len(long), err)
	}
	if _, err := Load(lookupFrom(with(map[string]string{"IMAGE": long[:200]})), memFS{}); err != nil {
		t.Fatalf("a 200-character IMAGE with room for the tag: %v", err)
	}
}

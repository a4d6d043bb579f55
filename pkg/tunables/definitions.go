package tunables

import "strings"

// Variable names, spelled once so that Load, Definitions and the tests cannot drift apart.
const (
	envClusterName            = "CLUSTER_NAME"
	envServiceName            = "SERVICE_NAME"
	envRegion                 = "REGION"
	envAWSRegion              = "AWS_REGION"
	envAWSDefaultRegion       = "AWS_DEFAULT_REGION"
	envImage                  = "IMAGE"
	envTargetContainers       = "TARGET_CONTAINERS"
	envAffectedPercent        = "TASK_REPLICA_AFFECTED_PERC"
	envTotalChaosDuration     = "TOTAL_CHAOS_DURATION"
	envChaosInterval          = "CHAOS_INTERVAL"
	envRampTime               = "RAMP_TIME"
	envSequence               = "SEQUENCE"
	envStatusCheckTimeout     = "STATUS_CHECK_TIMEOUT"
	envStatusCheckDelay       = "STATUS_CHECK_DELAY"
	envTerminationGracePeriod = "TERMINATION_GRACE_PERIOD_SECONDS"
	envAssumeRoleARN          = "ASSUME_ROLE_ARN"
	envAuthenticationSecret   = "AWS_AUTHENTICATION_SECRET"
	envSharedCredentialsFile  = "AWS_SHARED_CREDENTIALS_FILE"
	envProfile                = "AWS_PROFILE"
	envChaosEngine            = "CHAOSENGINE"
	envChaosNamespace         = "CHAOS_NAMESPACE"
	envPodNamespace           = "POD_NAMESPACE"
	envExperimentName         = "EXPERIMENT_NAME"
	envInstanceID             = "INSTANCE_ID"
	envChaosUID               = "CHAOS_UID"
	envPodName                = "POD_NAME"
	envJobUID                 = "JOB_UID"
	envProbesFile             = "PROBES_FILE"
	envResultFile             = "RESULT_FILE"
	envReportFile             = "REPORT_FILE"
	envLogLevel               = "LOG_LEVEL"
	envLogFormat              = "LOG_FORMAT"
	envExpectRollbackWithin   = "EXPECT_ROLLBACK_WITHIN"
	envExpectHealthyTasks     = "EXPECT_HEALTHY_TASKS"
	envExpectAlarms           = "EXPECT_ALARMS"
)

// Defaults that are not derived from other variables.
const (
	DefaultImage                 = "nginx"
	DefaultSharedCredentialsFile = "/tmp/cloud_config.yml"
	DefaultExperimentName        = "ecs-invalid-container-image"
	DefaultChaosNamespace        = "default"
	// DefaultGracePeriodSeconds is Kubernetes' default terminationGracePeriodSeconds, which a pod gets when
	// TERMINATION_GRACE_PERIOD_SECONDS is unset or 0.
	DefaultGracePeriodSeconds = 30
	// RunIDLength is the length of the run ids the binary makes (10 hex digits): the chaos tag of an untagged
	// IMAGE, chaos-invalid-<run id>, is checked to fit ECS's limit with it.
	RunIDLength = 10
)

// The "allowed" half of every problem message. Definitions shows the same text, so what `help` promises is
// exactly what Load enforces.
const (
	ruleClusterName      = "an ECS cluster name (1-255 letters, digits, - and _) or a cluster ARN arn:aws[-cn|-us-gov]:ecs:<REGION>:<12-digit account>:cluster/<name>"
	ruleServiceName      = "one or more ECS service names (1-255 letters, digits, - and _) or service ARNs in REGION, separated by commas, without empty entries or duplicates"
	ruleRegion           = "an AWS region name such as us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1 or cn-north-1"
	ruleImage            = "a container image reference such as nginx, public.ecr.aws/team/app:tag or registry:5000/app@sha256:<64 hex>"
	ruleTargetContainers = "empty (every container) or container names (1-255 letters, digits, - and _) separated by commas, without duplicates"
	rulePercent          = "a whole number from 0 to 100"
	rulePositiveSeconds  = "a whole number of seconds greater than 0"
	ruleSeconds          = "a whole number of seconds, 0 or more"
	ruleSequence         = "parallel or serial"
	ruleStatusCheckDelay = "a whole number of seconds greater than 0 and less than STATUS_CHECK_TIMEOUT"
	ruleGracePeriod      = "a whole number of seconds, 0 or more; 0 (what chaos-runner passes when the ChaosEngine sets no terminationGracePeriodSeconds) means Kubernetes' default, 30"
	ruleJobUID           = "empty or a Kubernetes uid (letters, digits and -, at most 64 characters)"
	ruleAssumeRoleARN    = "empty or an IAM role ARN arn:aws[-cn|-us-gov]:iam::<12-digit account>:role/[<path>/]<name>"
	ruleSecretName       = "empty or a secret name (1-253 letters, digits, ., - and _, starting with a letter or digit)"
	ruleCredentialsFile  = "a mounted AWS credentials file with a profile holding aws_access_key_id and aws_secret_access_key, or role_arn with source_profile, credential_process or sso settings"
	ruleProfile          = "the name of a profile in the mounted credentials file"
	ruleNamespace        = "a Kubernetes namespace name (lower-case letters, digits and -, at most 63 characters)"
	ruleObjectName       = "a Kubernetes object name (lower-case letters, digits, - and ., at most 253 characters)"
	ruleResultName       = "CHAOSENGINE, EXPERIMENT_NAME and INSTANCE_ID that join into a Kubernetes object name <engine>-<experiment>[-<instance>] (lower-case letters, digits, - and ., at most 253 characters)"
	ruleProbesFile       = "empty or the path of a readable probes YAML file"
	ruleLogLevel         = "panic, fatal, error, warn, info, debug or trace"
	ruleLogFormat        = "text or json"
	ruleRollbackWithin   = "empty or a whole number of seconds greater than 0 and at most min(TOTAL_CHAOS_DURATION, CHAOS_INTERVAL)"
	ruleHealthyTasks     = "empty or a whole number, 0 or more"
	ruleAlarms           = "empty or CloudWatch alarm names (1-255 printable characters, no commas) separated by commas, without duplicates"
)

// Definition describes one tunable for `help`, `help --markdown` and the README.
type Definition struct {
	Name        string
	Default     string
	Rule        string
	Description string
}

// Definitions lists every tunable in the order users meet them: target, chaos, authentication, Litmus, output,
// expectations. It returns a fresh slice on every call, so callers may modify it.
func Definitions() []Definition {
	return []Definition{
		{envClusterName, "(required)", ruleClusterName, "ECS cluster that runs the target services."},
		{envServiceName, "(required)", ruleServiceName, "Target ECS service; several comma-separated services are faulted in one run (SEQUENCE)."},
		{envRegion, "AWS_REGION, else AWS_DEFAULT_REGION, else required", ruleRegion, "AWS region of the cluster."},
		{envImage, DefaultImage, ruleImage, "Image swapped into the chaos revision. A reference without tag or digest gets a deliberately non-existent tag (:chaos-invalid-<run id>); a tagged or digested one is used as given."},
		{envTargetContainers, "(every container)", ruleTargetContainers, "Containers whose image is swapped; a name the task definition lacks is an error at preflight."},
		{envAffectedPercent, "100", rulePercent, "Caps the chaos deployment at maximumPercent = min(the service's own, 100 + this value); it narrows, never widens."},
		{envTotalChaosDuration, "30", rulePositiveSeconds, "Length of the fault; no injection starts after it has elapsed."},
		{envChaosInterval, "30", rulePositiveSeconds, "Hold of each cycle: min(CHAOS_INTERVAL, time left), then restore; the next cycle starts once the restore completed and time is left."},
		{envRampTime, "0", ruleSeconds, "Wait before and after the fault."},
		{envSequence, "parallel", ruleSequence, "How several services are faulted (case-insensitive)."},
		{envStatusCheckTimeout, "180", rulePositiveSeconds, "How long to wait for the restore deployment to complete."},
		{envStatusCheckDelay, "2", ruleStatusCheckDelay, "Time between status polls."},
		{envTerminationGracePeriod, "30", ruleGracePeriod, "The pod's grace period (chaos-runner sets it from the ChaosEngine); the restore deadline after an abort stays below it."},
		{envAssumeRoleARN, `""`, ruleAssumeRoleARN, "Role assumed on top of the base credentials, with refreshing credentials."},
		{envAuthenticationSecret, `""`, ruleSecretName, "Secret holding an AWS credentials file; when set, that file must be mounted and wins over IRSA and environment keys."},
		{envSharedCredentialsFile, DefaultSharedCredentialsFile + " when AWS_AUTHENTICATION_SECRET is set", "a file path", "Standard AWS credentials file; where the secret is mounted."},
		{envProfile, "default", ruleProfile, "Profile of the credentials file to use."},
		{envChaosEngine, `""`, ruleObjectName, "Litmus ChaosEngine that owns the run; events go to it and the ChaosResult is named after it."},
		{envChaosNamespace, "POD_NAMESPACE, else " + DefaultChaosNamespace, ruleNamespace, "Namespace of the ChaosEngine and ChaosResult."},
		{envExperimentName, DefaultExperimentName, ruleObjectName, "Experiment name used in the ChaosResult name."},
		{envInstanceID, `""`, ruleResultName, "Optional suffix of the ChaosResult name."},
		{envChaosUID, `""`, "any text", "UID of the ChaosEngine (Litmus sets it), used for labels and owner references."},
		{envPodName, `""`, "any text", "Name of this pod (Litmus sets it), recorded in the result and events."},
		{envJobUID, `""`, ruleJobUID, "Uid of the Job running this pod (the shipped manifests set it from the pod's controller-uid label): a retried pod of the same Job never injects again."},
		{envProbesFile, `""`, ruleProbesFile, "Resilience probes as YAML when no ChaosEngine holds them."},
		{envResultFile, "stdout", "a file path", "Where the ChaosResult is written when no Kubernetes API is configured."},
		{envReportFile, `""`, "empty or a file path", "Also write the run's one-file HTML report here (see experiment report), beside the result."},
		{envLogLevel, "info", ruleLogLevel, "logrus level (case-insensitive)."},
		{envLogFormat, "text", ruleLogFormat, "json for log shippers."},
		{envExpectRollbackWithin, `""`, ruleRollbackWithin, "Expectation: ECS rolls the service back by itself (circuit breaker or alarms) within this many seconds of the injection."},
		{envExpectHealthyTasks, `""`, ruleHealthyTasks, "Expectation: the original revision never has fewer RUNNING tasks than this during the hold."},
		{envExpectAlarms, `""`, ruleAlarms, "Expectation: each named CloudWatch alarm is in ALARM at some point during the hold."},
	}
}

// Markdown renders Definitions as the markdown table used by `help --markdown` and the README.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Allowed values | Description |\n|---|---|---|---|\n")
	for _, d := range Definitions() {
		b.WriteString("| `" + d.Name + "` | " + markdownCell(d.Default) + " | " + markdownCell(d.Rule) + " | " + markdownCell(d.Description) + " |\n")
	}
	return b.String()
}

// markdownCell keeps a value inside its table cell and visible: a literal pipe would start a new column, and
// placeholders such as <REGION> would be swallowed as HTML tags.
func markdownCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	// fileSecretKey is the secret access key inside the mounted credentials files: it must never be printed.
	fileSecretKey   = "e2eFileSecretValue-DO-NOT-PRINT-7b21e4"
	fileAccessKeyID = "AKIAE2EFILEKEY"
)

// credentialFiles writes the mounted secrets the bad-input cases point at and returns their directory.
func credentialFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"valid":      "[default]\naws_access_key_id = " + fileAccessKeyID + "\naws_secret_access_key = " + fileSecretKey + "\n",
		"empty":      "",
		"notcreds":   "this is not an AWS credentials file\nsecret=" + fileSecretKey + "\n",
		"keyless":    "[default]\naws_access_key_id = " + fileAccessKeyID + "\naws_secret_access_key = " + fileSecretKey + "\n[other]\nregion = us-east-1\n",
		"nodefault":  "[team]\naws_access_key_id = " + fileAccessKeyID + "\naws_secret_access_key = " + fileSecretKey + "\n",
		"secretonly": "[default]\naws_secret_access_key = " + fileSecretKey + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "directory"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBadInputChangesNothing runs the pod with one bad tunable or secret file at a time. Each run must exit 2,
// name the variable and its rule on stderr, record an Error ChaosResult, make no ECS call at all (DESIGN: invalid
// input ends the run before any AWS call) and print no secret value.
func TestBadInputChangesNothing(t *testing.T) {
	creds := credentialFiles(t)
	secret := func(file string, extra map[string]string) map[string]string {
		env := map[string]string{"AWS_AUTHENTICATION_SECRET": "aws-creds", "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(creds, file)}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	cases := []struct {
		name  string
		set   map[string]string
		unset []string
		args  []string
		// want are substrings of stderr, after logrus's quoting is undone.
		want []string
	}{
		{name: "CLUSTER_NAME missing", unset: []string{"CLUSTER_NAME"},
			want: []string{"CLUSTER_NAME: is not set", "allowed: an ECS cluster name"}},
		{name: "CLUSTER_NAME bad characters", set: map[string]string{"CLUSTER_NAME": "my cluster!"},
			want: []string{`CLUSTER_NAME: "my cluster!"`, "allowed: an ECS cluster name"}},
		{name: "CLUSTER_NAME ARN in another region", set: map[string]string{"CLUSTER_NAME": "arn:aws:ecs:eu-west-1:123456789012:cluster/chaos"},
			want: []string{`is in region "eu-west-1", not in REGION "us-east-1"`}},
		{name: "SERVICE_NAME missing", unset: []string{"SERVICE_NAME"},
			want: []string{"SERVICE_NAME: is not set", "allowed: one or more ECS service names"}},
		{name: "SERVICE_NAME duplicate", set: map[string]string{"SERVICE_NAME": "web,web"},
			want: []string{`SERVICE_NAME: "web" is listed twice`, "without empty entries or duplicates"}},
		{name: "SERVICE_NAME empty entry", set: map[string]string{"SERVICE_NAME": "web,,api"},
			want: []string{`SERVICE_NAME: entry 2 of "web,,api" is empty`}},
		{name: "REGION missing", unset: []string{"REGION"},
			want: []string{"REGION: is not set (nor AWS_REGION or AWS_DEFAULT_REGION)", "allowed: an AWS region name"}},
		{name: "REGION not a region", set: map[string]string{"REGION": "moon-1"},
			want: []string{`REGION: "moon-1" is not an AWS region name`}},
		{name: "IMAGE upper-case repository", set: map[string]string{"IMAGE": "Upper"},
			want: []string{`IMAGE: "Upper" is not an image reference: the repository name must be lower-case`}},
		{name: "IMAGE upper-case path", set: map[string]string{"IMAGE": "team/UPPER:1"},
			want: []string{`IMAGE: "team/UPPER:1" is not an image reference: the repository name must be lower-case`}},
		{name: "IMAGE empty tag", set: map[string]string{"IMAGE": "nginx:"},
			want: []string{`IMAGE: "nginx:" is not an image reference: the tag must be`}},
		{name: "IMAGE short digest", set: map[string]string{"IMAGE": "nginx@sha256:abc"},
			want: []string{`IMAGE: "nginx@sha256:abc" is not an image reference: the digest must look like`}},
		{name: "TASK_REPLICA_AFFECTED_PERC 101", set: map[string]string{"TASK_REPLICA_AFFECTED_PERC": "101"},
			want: []string{`TASK_REPLICA_AFFECTED_PERC: "101" is too large (at most 100)`, "allowed: a whole number from 0 to 100"}},
		{name: "TASK_REPLICA_AFFECTED_PERC -1", set: map[string]string{"TASK_REPLICA_AFFECTED_PERC": "-1"},
			want: []string{`TASK_REPLICA_AFFECTED_PERC: "-1" has a sign`}},
		{name: "TASK_REPLICA_AFFECTED_PERC abc", set: map[string]string{"TASK_REPLICA_AFFECTED_PERC": "abc"},
			want: []string{`TASK_REPLICA_AFFECTED_PERC: "abc" is not a whole number`}},
		{name: "TOTAL_CHAOS_DURATION 0", set: map[string]string{"TOTAL_CHAOS_DURATION": "0"},
			want: []string{`TOTAL_CHAOS_DURATION: "0" is too small (at least 1)`, "allowed: a whole number of seconds greater than 0"}},
		{name: "TOTAL_CHAOS_DURATION -5", set: map[string]string{"TOTAL_CHAOS_DURATION": "-5"},
			want: []string{`TOTAL_CHAOS_DURATION: "-5" has a sign`}},
		{name: "TOTAL_CHAOS_DURATION 1.5", set: map[string]string{"TOTAL_CHAOS_DURATION": "1.5"},
			want: []string{`TOTAL_CHAOS_DURATION: "1.5" is not a whole number`}},
		{name: "CHAOS_INTERVAL 0", set: map[string]string{"CHAOS_INTERVAL": "0"},
			want: []string{`CHAOS_INTERVAL: "0" is too small (at least 1)`}},
		{name: "RAMP_TIME -1", set: map[string]string{"RAMP_TIME": "-1"},
			want: []string{`RAMP_TIME: "-1" has a sign`, "allowed: a whole number of seconds, 0 or more"}},
		{name: "SEQUENCE random", set: map[string]string{"SEQUENCE": "random"},
			want: []string{`SEQUENCE: "random" is not a sequence`, "allowed: parallel or serial"}},
		{name: "STATUS_CHECK_TIMEOUT 0", set: map[string]string{"STATUS_CHECK_TIMEOUT": "0"},
			want: []string{`STATUS_CHECK_TIMEOUT: "0" is too small (at least 1)`}},
		{name: "STATUS_CHECK_DELAY above the timeout", set: map[string]string{"STATUS_CHECK_DELAY": "31", "STATUS_CHECK_TIMEOUT": "30"},
			want: []string{"STATUS_CHECK_DELAY: is not less than STATUS_CHECK_TIMEOUT (31s >= 30s)"}},
		{name: "TERMINATION_GRACE_PERIOD_SECONDS negative", set: map[string]string{"TERMINATION_GRACE_PERIOD_SECONDS": "-5"},
			want: []string{`TERMINATION_GRACE_PERIOD_SECONDS: "-5" has a sign`}},
		{name: "TARGET_CONTAINERS duplicate", set: map[string]string{"TARGET_CONTAINERS": "app,app"},
			want: []string{`TARGET_CONTAINERS: "app" is listed twice`}},
		{name: "ASSUME_ROLE_ARN not an ARN", set: map[string]string{"ASSUME_ROLE_ARN": "admin-role"},
			want: []string{"ASSUME_ROLE_ARN: is not an IAM role ARN", "allowed: empty or an IAM role ARN"}},
		{name: "ASSUME_ROLE_ARN a user ARN", set: map[string]string{"ASSUME_ROLE_ARN": "arn:aws:iam::123456789012:user/alice"},
			want: []string{"ASSUME_ROLE_ARN: is not an IAM role ARN"}},
		{name: "AWS_AUTHENTICATION_SECRET not a secret name", set: map[string]string{"AWS_AUTHENTICATION_SECRET": "bad name!"},
			want: []string{`AWS_AUTHENTICATION_SECRET: "bad name!" is not a secret name`}},
		{name: "credentials file missing", set: secret("missing", nil),
			want: []string{"AWS_AUTHENTICATION_SECRET: the credentials file from secret", "cannot be opened (it does not exist)"}},
		{name: "credentials file empty", set: secret("empty", nil),
			want: []string{"AWS_AUTHENTICATION_SECRET: the credentials file from secret", "is empty"}},
		{name: "credentials file is a directory", set: secret("directory", nil),
			want: []string{"AWS_AUTHENTICATION_SECRET: the credentials file from secret", "is a directory"}},
		{name: "credentials file is not a credentials file", set: secret("notcreds", nil),
			want: []string{"AWS_AUTHENTICATION_SECRET: the credentials file from secret", "is not an AWS credentials file"}},
		{name: "credentials file without the key id", set: secret("secretonly", nil),
			want: []string{"AWS_AUTHENTICATION_SECRET: the credentials file from secret", "is not an AWS credentials file",
				"allowed: a mounted AWS credentials file with a profile holding aws_access_key_id and aws_secret_access_key"}},
		{name: "AWS_PROFILE not in the credentials file", set: secret("valid", map[string]string{"AWS_PROFILE": "other"}),
			want: []string{"AWS_PROFILE: names a profile that is not in the credentials file"}},
		{name: "AWS_PROFILE without credentials", set: secret("keyless", map[string]string{"AWS_PROFILE": "other"}),
			want: []string{"AWS_PROFILE:", "holds no credentials"}},
		{name: "no default profile", set: secret("nodefault", nil), unset: []string{"AWS_PROFILE"},
			want: []string{"AWS_PROFILE: is not set and the credentials file", "has no [default] profile"}},
		{name: "LOG_LEVEL loud", set: map[string]string{"LOG_LEVEL": "loud"},
			want: []string{`LOG_LEVEL: "loud" is not a log level`, "allowed: panic, fatal, error, warn, info, debug or trace"}},
		{name: "LOG_FORMAT xml", set: map[string]string{"LOG_FORMAT": "xml"},
			want: []string{`LOG_FORMAT: "xml" is not a log format`, "allowed: text or json"}},
		{name: "EXPECT_ROLLBACK_WITHIN longer than the hold", set: map[string]string{"EXPECT_ROLLBACK_WITHIN": "4"},
			want: []string{"EXPECT_ROLLBACK_WITHIN: is longer than the hold of one cycle (4s > 3s)"}},
		{name: "PROBES_FILE missing", set: map[string]string{"PROBES_FILE": filepath.Join(creds, "no-probes.yaml")},
			want: []string{"PROBES_FILE:", "cannot be opened (it does not exist)"}},
		{name: "CHAOSENGINE not an object name", set: map[string]string{"CHAOSENGINE": "Engine_1"},
			want: []string{`CHAOSENGINE: "Engine_1" is not a Kubernetes object name`}},
		{name: "every problem at once", unset: []string{"SERVICE_NAME"},
			set:  secret("notcreds", map[string]string{"TOTAL_CHAOS_DURATION": "0", "SEQUENCE": "random", "IMAGE": "nginx:"}),
			want: []string{"SERVICE_NAME: is not set", "TOTAL_CHAOS_DURATION:", "SEQUENCE:", "IMAGE:", "AWS_AUTHENTICATION_SECRET:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			env := f.env(t, tc.set)
			for _, k := range tc.unset {
				delete(env, k)
			}
			p, code := runExperiment(t, env, tc.args...)
			stdout, stderr := p.Stdout.String(), p.Stderr.String()
			if code != 2 {
				t.Errorf("exit code %d, want 2 (nothing changed)", code)
			}
			readable := unquoteLog(stderr)
			for _, w := range append([]string{"invalid input, nothing was changed"}, tc.want...) {
				if !strings.Contains(readable, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if m := mutations(f.sim); len(m) > 0 {
				t.Errorf("bad input changed ECS: %v", m)
			}
			if reqs := f.sim.Requests(); len(reqs) > 0 {
				var ops []string
				for _, r := range reqs {
					ops = append(ops, r.Operation)
				}
				t.Errorf("bad input made %d ECS call(s) %v; invalid input must end the run before any AWS call", len(reqs), ops)
			}
			for _, s := range []string{fileSecretKey, envSecretKey} {
				if strings.Contains(stdout, s) || strings.Contains(stderr, s) {
					t.Errorf("a secret value was printed (stdout or stderr contains %q)", s)
				}
			}
			if code == 2 {
				r := parseResult(t, stdout)
				if st := r.Status.ExperimentStatus; st.Phase != "Error" || st.Verdict != "Error" || st.ErrorOutput == nil {
					t.Errorf("ChaosResult %s/%s, errorOutput %v; want Error/Error with an errorOutput", st.Phase, st.Verdict, st.ErrorOutput)
				}
			}
			if t.Failed() {
				t.Logf("stderr:\n%s\nstdout:\n%s", readable, stdout)
			}
		})
	}
}

// TestUnknownSubcommandChangesNothing: a typo in the Job's args must not fall back to running the fault.
func TestUnknownSubcommandChangesNothing(t *testing.T) {
	f := newFixture(t)
	p, code := runExperiment(t, f.env(t, nil), "rnu")
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(p.Stderr.String(), `unknown subcommand "rnu"`) {
		t.Errorf("stderr does not name the unknown subcommand:\n%s", p.Stderr.String())
	}
	if reqs := f.sim.Requests(); len(reqs) > 0 {
		t.Errorf("an unknown subcommand made %d ECS call(s)", len(reqs))
	}
}

// unquoteLog undoes logrus's text quoting of msg values, so assertions read like the messages.
func unquoteLog(s string) string {
	return strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`).Replace(s)
}

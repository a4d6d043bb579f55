package tunables

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary values for the numeric, list, name and file tunables; Load must never panic and must
// either succeed or return a *ValidationError whose problems all name a variable.
func FuzzLoad(f *testing.F) {
	f.Add("prod", "web,api", "us-east-1", "nginx", "30", "2", "parallel", "[default]\naws_access_key_id=a\naws_secret_access_key=b\n")
	f.Add("arn:aws:ecs:us-east-1:123456789012:cluster/p", " , ", "", "registry:5000/app@sha256:abc", "-1", "99999999999999999999", "SERIAL", "[")
	f.Add("", "arn:aws:ecs:us-east-1:123456789012:service/p/w", "cn-north-1", "UPPER:tag", "1e3", "0", "x", "[profile a]\nrole_arn=r\n")
	f.Add("a\x00b", "web,web", "us-gov-west-1", "", "+5", "10", "", "\xff\xfe=")
	f.Fuzz(func(t *testing.T, cluster, services, region, image, number, delay, sequence, credentials string) {
		env := map[string]string{
			"CLUSTER_NAME": cluster, "SERVICE_NAME": services, "REGION": region, "IMAGE": image,
			"TOTAL_CHAOS_DURATION": number, "CHAOS_INTERVAL": number, "TASK_REPLICA_AFFECTED_PERC": number,
			"STATUS_CHECK_DELAY": delay, "EXPECT_ROLLBACK_WITHIN": delay, "EXPECT_HEALTHY_TASKS": number,
			"SEQUENCE": sequence, "TARGET_CONTAINERS": services, "EXPECT_ALARMS": services,
			"AWS_AUTHENTICATION_SECRET": "cloud", "AWS_PROFILE": sequence, "INSTANCE_ID": cluster, "CHAOSENGINE": "e",
		}
		_, err := Load(lookupFrom(env), memFS{files: map[string]*string{DefaultSharedCredentialsFile: &credentials}})
		if err == nil {
			return
		}
		var verr *ValidationError
		if !errors.As(err, &verr) || len(verr.Problems) == 0 {
			t.Fatalf("error %v is not a non-empty *ValidationError", err)
		}
		for _, p := range verr.Problems {
			if p.Variable == "" || !strings.Contains(p.Rule, "; allowed: ") {
				t.Fatalf("malformed problem %+v", p)
			}
		}
	})
}

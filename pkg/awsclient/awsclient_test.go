package awsclient

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/sirupsen/logrus/hooks/test"
)

// Obviously fake credential values; no test ever talks to AWS.
const (
	fileKeyID      = "AKIAFILEFAKE00000001"
	fileSecret     = "fileSecretFakeValue0000000000000000000001"
	chaosKeyID     = "AKIAFILEFAKECHAOS001"
	chaosSecret    = "fileSecretFakeValueChaosProfile000000001"
	envKeyID       = "AKIAENVFAKE000000001"
	envSecret      = "envSecretFakeValue000000000000000000000001"
	configKeyID    = "AKIACONFIGFAKE000001"
	assumedKeyID   = "ASIAASSUMEDFAKE00001"
	assumedSecret  = "assumedSecretFakeValue00000000000000001"
	assumedSession = "assumedSessionTokenFake0001"
)

// isolate points every file and variable the SDK reads at a temporary directory, so a developer's ~/.aws or
// the CI's environment cannot change the outcome. It returns that directory.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"HOME": dir, "AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
		"AWS_SESSION_TOKEN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_ECS": "", "AWS_ENDPOINT_URL_STS": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_RETRY_MODE": "", "AWS_MAX_ATTEMPTS": "",
	} {
		t.Setenv(k, v)
	}
	return dir
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mountedSecret(t *testing.T, dir string) string {
	return writeFile(t, filepath.Join(dir, "cloud_config.yml"),
		"[default]\naws_access_key_id = "+fileKeyID+"\naws_secret_access_key = "+fileSecret+"\n"+
			"[chaos]\naws_access_key_id = "+chaosKeyID+"\naws_secret_access_key = "+chaosSecret+"\n")
}

func TestCredentialPrecedence(t *testing.T) {
	cases := []struct {
		name       string
		secret     bool
		profile    string
		envProfile string
		envKeys    bool
		wantKeyID  string
		wantSource Source
	}{
		{"secret wins over env keys and web identity", true, "", "", true, fileKeyID, "mounted secret <file> profile default"},
		{"secret wins over web identity alone", true, "", "", false, fileKeyID, "mounted secret <file> profile default"},
		{"secret with AWS_PROFILE", true, "chaos", "chaos", true, chaosKeyID, "mounted secret <file> profile chaos"},
		{"without a secret the SDK chain prefers env keys", false, "", "", true, envKeyID, "environment"},
		{"without a secret web identity comes next", false, "", "", false, assumedKeyID, "web identity (IRSA)"},
		{"without a secret AWS_PROFILE from the environment does not beat env keys", false, "chaos", "chaos", true, envKeyID, "environment"},
		{"without a secret an explicit profile wins", false, "chaos", "", true, chaosKeyID, "shared config profile chaos"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := isolate(t)
			file := mountedSecret(t, dir)
			// A config file and web identity that must lose against the mounted secret.
			writeFile(t, filepath.Join(dir, "config"), "[default]\naws_access_key_id = "+configKeyID+"\naws_secret_access_key = x\n")
			if tc.envKeys {
				t.Setenv("AWS_ACCESS_KEY_ID", envKeyID)
				t.Setenv("AWS_SECRET_ACCESS_KEY", envSecret)
			}
			stsServer := newRecordingServer(t, stsAssumeRole("2099-01-01T00:00:00Z"))
			t.Setenv("AWS_ENDPOINT_URL_STS", stsServer.URL)
			t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", writeFile(t, filepath.Join(dir, "token"), "fake-token"))
			t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa")
			t.Setenv("AWS_PROFILE", tc.envProfile)
			logger, hook := test.NewNullLogger()

			cfg, source, err := Load(t.Context(), Options{
				Region: "us-east-1", Profile: tc.profile, SharedCredentialsFile: file, SecretConfigured: tc.secret,
				Version: "1.2.3", Logger: logger,
			})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if want := Source(strings.ReplaceAll(string(tc.wantSource), "<file>", file)); source != want {
				t.Errorf("source = %q, want %q", source, want)
			}
			creds, err := cfg.Credentials.Retrieve(t.Context())
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if creds.AccessKeyID != tc.wantKeyID {
				t.Errorf("access key id = %q, want %q", creds.AccessKeyID, tc.wantKeyID)
			}
			if sts := stsServer.seen(); (tc.wantKeyID == assumedKeyID) != (len(sts) == 1) {
				t.Errorf("STS saw %d calls", len(sts))
			} else if len(sts) == 1 && (sts[0].form.Get("WebIdentityToken") != "fake-token" || sts[0].form.Get("RoleArn") != "arn:aws:iam::123456789012:role/irsa") {
				t.Errorf("AssumeRoleWithWebIdentity form = %v", sts[0].form)
			}
			if len(hook.AllEntries()) != 1 || hook.LastEntry().Data["credentials"] != string(source) {
				t.Errorf("log entries = %v, want one naming the source", hook.AllEntries())
			}
			for _, e := range hook.AllEntries() {
				line, _ := e.String()
				for _, secret := range []string{fileSecret, chaosSecret, envSecret} {
					if strings.Contains(line, secret) {
						t.Errorf("log leaks a secret: %s", line)
					}
				}
			}
		})
	}
}

func TestMissingProfileIsRejectedByTheLoader(t *testing.T) {
	// "elsewhere" exists only in the config file named by AWS_CONFIG_FILE: with a mounted secret, only the
	// mounted file counts.
	for _, profile := range []string{"absent", "elsewhere"} {
		t.Run(profile, func(t *testing.T) {
			dir := isolate(t)
			file := mountedSecret(t, dir)
			writeFile(t, filepath.Join(dir, "config"), "[profile elsewhere]\naws_access_key_id = "+configKeyID+"\naws_secret_access_key = x\n")
			_, source, err := Load(t.Context(), Options{Region: "us-east-1", Profile: profile, SharedCredentialsFile: file, SecretConfigured: true})
			var credErr *CredentialsError
			if !errors.As(err, &credErr) {
				t.Fatalf("err = %v, want a *CredentialsError", err)
			}
			var notExist config.SharedConfigProfileNotExistError
			if !errors.As(err, &notExist) {
				t.Errorf("err does not wrap the SDK's SharedConfigProfileNotExistError: %v", err)
			}
			want := "cannot use AWS credentials from mounted secret " + file + " profile " + profile + `: profile "` + profile + `" does not exist`
			if err.Error() != want || credErr.Source != source {
				t.Errorf("err = %q (source %q), want %q", err, source, want)
			}
		})
	}
}

func TestOptionsAreValidated(t *testing.T) {
	isolate(t)
	for _, o := range []Options{{}, {Region: "us-east-1", SecretConfigured: true}} {
		if _, _, err := Load(t.Context(), o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("Load(%+v) err = %v, want ErrInvalidOptions", o, err)
		}
	}
}

// recorded is one request a local server received.
type recorded struct {
	host, target, userAgent, authorization, securityToken string
	form                                                  url.Values
}

// recordingServer is a real HTTP server on loopback that answers each request with respond and keeps what it saw.
type recordingServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
}

func newRecordingServer(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, form url.Values)) *recordingServer {
	t.Helper()
	s := &recordingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		s.mu.Lock()
		s.requests = append(s.requests, recorded{
			host: r.Host, target: r.Header.Get("X-Amz-Target"), userAgent: r.Header.Get("User-Agent"),
			authorization: r.Header.Get("Authorization"), securityToken: r.Header.Get("X-Amz-Security-Token"), form: form,
		})
		s.mu.Unlock()
		respond(w, r, form)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *recordingServer) seen() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.requests...)
}

func ecsListClusters(w http.ResponseWriter, _ *http.Request, _ url.Values) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = io.WriteString(w, `{"clusterArns":["arn:aws:ecs:us-east-1:123456789012:cluster/local"]}`)
}

func TestEndpointOverridesReachLocalServer(t *testing.T) {
	for _, variable := range []string{"AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL"} {
		t.Run(variable, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_ACCESS_KEY_ID", envKeyID)
			t.Setenv("AWS_SECRET_ACCESS_KEY", envSecret)
			server := newRecordingServer(t, ecsListClusters)
			t.Setenv(variable, server.URL)

			cfg, _, err := Load(t.Context(), Options{Region: "eu-west-1", Version: "1.2.3"})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			out, err := ecs.NewFromConfig(cfg, ECSOptions(PurposeMain)).ListClusters(t.Context(), &ecs.ListClustersInput{})
			if err != nil {
				t.Fatalf("ListClusters: %v", err)
			}
			if len(out.ClusterArns) != 1 {
				t.Errorf("cluster ARNs = %v, want the one the local server returned", out.ClusterArns)
			}
			seen := server.seen()
			if len(seen) != 1 {
				t.Fatalf("local server saw %d requests, want 1", len(seen))
			}
			if !strings.HasSuffix(seen[0].target, ".ListClusters") {
				t.Errorf("X-Amz-Target = %q", seen[0].target)
			}
			if !strings.Contains(seen[0].userAgent, "ecs-invalid-container-image/1.2.3") {
				t.Errorf("User-Agent %q does not name the fault and its version", seen[0].userAgent)
			}
		})
	}
}

// stsAssumeRole answers AssumeRole and AssumeRoleWithWebIdentity the way STS does, with fake credentials that
// expire at expiration.
func stsAssumeRole(expiration string) func(http.ResponseWriter, *http.Request, url.Values) {
	return func(w http.ResponseWriter, _ *http.Request, form url.Values) {
		action := form.Get("Action")
		if action != "AssumeRole" && action != "AssumeRoleWithWebIdentity" {
			http.Error(w, "unexpected action", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<`+action+`Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <`+action+`Result>
    <Credentials>
      <AccessKeyId>`+assumedKeyID+`</AccessKeyId>
      <SecretAccessKey>`+assumedSecret+`</SecretAccessKey>
      <SessionToken>`+assumedSession+`</SessionToken>
      <Expiration>`+expiration+`</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/chaos/`+form.Get("RoleSessionName")+`</Arn>
      <AssumedRoleId>AROAFAKE0000000000001:`+form.Get("RoleSessionName")+`</AssumedRoleId>
    </AssumedRoleUser>
  </`+action+`Result>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId></ResponseMetadata>
</`+action+`Response>`)
	}
}

func TestAssumeRoleOnTopOfMountedSecret(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/chaos"
	cases := []struct {
		name       string
		expiration string
		wantSTS    int
	}{
		{"cached until expiry", "2099-01-01T00:00:00Z", 1},
		{"refreshed once expired", "2000-01-01T00:00:00Z", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := isolate(t)
			file := mountedSecret(t, dir)
			logger, _ := test.NewNullLogger()
			stsServer := newRecordingServer(t, stsAssumeRole(tc.expiration))
			ecsServer := newRecordingServer(t, ecsListClusters)
			t.Setenv("AWS_ENDPOINT_URL_STS", stsServer.URL)
			t.Setenv("AWS_ENDPOINT_URL_ECS", ecsServer.URL)

			cfg, source, err := Load(t.Context(), Options{
				Region: "us-east-1", SharedCredentialsFile: file, SecretConfigured: true,
				AssumeRoleARN: role, RunID: "run/42 x", Version: "1.2.3", Logger: logger,
			})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if want := Source("mounted secret " + file + " profile default, assumed role " + role); source != want {
				t.Errorf("source = %q, want %q", source, want)
			}
			if n := len(stsServer.seen()); n != 0 {
				t.Fatalf("Load called STS %d times; credentials must be fetched on first use", n)
			}
			client := ecs.NewFromConfig(cfg, ECSOptions(PurposeRestore))
			for range 2 {
				if _, err := client.ListClusters(t.Context(), &ecs.ListClustersInput{}); err != nil {
					t.Fatalf("ListClusters: %v", err)
				}
			}

			stsSeen := stsServer.seen()
			if len(stsSeen) != tc.wantSTS {
				t.Fatalf("STS saw %d AssumeRole calls, want %d", len(stsSeen), tc.wantSTS)
			}
			call := stsSeen[0]
			if call.form.Get("RoleArn") != role || call.form.Get("RoleSessionName") != "ecs-invalid-container-image-run-42-x" {
				t.Errorf("AssumeRole form = %v", call.form)
			}
			if !strings.Contains(call.authorization, "Credential="+fileKeyID+"/") {
				t.Errorf("AssumeRole was not signed with the mounted secret's key: %q", call.authorization)
			}
			if !strings.Contains(call.userAgent, "ecs-invalid-container-image/1.2.3") {
				t.Errorf("STS User-Agent %q does not name the fault", call.userAgent)
			}
			for _, r := range ecsServer.seen() {
				if !strings.Contains(r.authorization, "Credential="+assumedKeyID+"/") || r.securityToken != assumedSession {
					t.Errorf("ECS call not signed with the assumed role: authorization %q, token %q", r.authorization, r.securityToken)
				}
			}
		})
	}
}

func TestSessionName(t *testing.T) {
	for _, tc := range []struct{ runID, want string }{
		{"", "ecs-invalid-container-image-"},
		{"2026-11-29T00-24-29Z-ab12", "ecs-invalid-container-image-2026-11-29T00-24-29Z-ab12"},
		{"a b/c:d*e", "ecs-invalid-container-image-a-b-c-d-e"},
		{"ok+=,.@_-", "ecs-invalid-container-image-ok+=,.@_-"},
		{strings.Repeat("x", 100), "ecs-invalid-container-image-" + strings.Repeat("x", 64-len("ecs-invalid-container-image-"))},
		{"é", "ecs-invalid-container-image--"},
	} {
		if got := SessionName(tc.runID); got != tc.want || len(got) < 2 || len(got) > 64 {
			t.Errorf("SessionName(%q) = %q, want %q", tc.runID, got, tc.want)
		}
	}
}

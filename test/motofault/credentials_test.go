package motofault

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/test/moto"
)

// Base keys moto accepts while IAM is not enforced; they name no IAM user.
const (
	baseKeyID  = "AKIABASEKEYMOTOFAULT"
	baseSecret = "base-secret-never-logged"
)

// sdkEnvironment lists every variable the SDK's loader reads that could change a test's outcome.
var sdkEnvironment = []string{
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_STS", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_USE_FIPS_ENDPOINT",
	"AWS_USE_DUALSTACK_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_CA_BUNDLE",
}

// environment sets the process environment the SDK reads (it always reads os.Getenv) and returns the same view
// for awsclient.Options.Getenv. Everything else the SDK could read is emptied or pointed into a temporary
// directory, so that a developer's ~/.aws or the CI's variables cannot change the outcome, and every endpoint
// is moto: nothing reaches the internet.
func environment(t *testing.T, srv *moto.Server, set map[string]string) (dir string, getenv func(string) string) {
	t.Helper()
	dir = t.TempDir()
	view := map[string]string{
		"HOME":                        dir,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            srv.URL,
	}
	for _, name := range sdkEnvironment {
		if _, ok := view[name]; !ok {
			view[name] = ""
		}
	}
	for k, v := range set {
		view[k] = v
	}
	for k, v := range view {
		t.Setenv(k, v)
	}
	return dir, func(name string) string { return view[name] }
}

// loopbackOnly is an HTTP client that dials 127.0.0.1 only and records every other address it was asked to
// dial, so that an endpoint the SDK does not take from the environment shows up as a refused address rather
// than as a request to AWS.
type loopbackOnly struct {
	mu      sync.Mutex
	refused []string
}

func (l *loopbackOnly) client() *http.Client {
	var dialer net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
				l.mu.Lock()
				l.refused = append(l.refused, addr)
				l.mu.Unlock()
				return nil, fmt.Errorf("motofault: refused to dial %s: tests stay on loopback", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

func (l *loopbackOnly) refusedAddresses() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.refused)
}

// load runs awsclient.Load with a loopback-only HTTP client (unless o has one) and a logger whose output the
// test checks for credential values.
func load(ctx context.Context, t *testing.T, o awsclient.Options, secrets ...string) (aws.Config, awsclient.Source) {
	t.Helper()
	var logs bytes.Buffer
	logger := logrus.New()
	logger.SetOutput(&logs)
	o.Logger = logger
	if o.HTTPClient == nil {
		o.HTTPClient = (&loopbackOnly{}).client()
	}
	cfg, source, err := awsclient.Load(ctx, o)
	if err != nil {
		t.Fatalf("awsclient.Load: %v", err)
	}
	for _, secret := range secrets {
		if strings.Contains(string(source), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("a credential value reached the source %q or the log %q", source, logs.String())
		}
	}
	return cfg, source
}

func callerARN(ctx context.Context, t *testing.T, cfg aws.Config) string {
	t.Helper()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return aws.ToString(id.Arn)
}

func policy(actions ...string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["` + strings.Join(actions, `","`) + `"],"Resource":"*"}]}`
}

func trustPolicy(principal string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":["sts:AssumeRole","sts:AssumeRoleWithWebIdentity"]}]}`
}

// testAssumeRole checks ASSUME_ROLE_ARN through moto's STS: awsclient.Load assumes the role on top of the base
// credentials, with the run id in the session name, and ECS calls carry the role's permissions.
func testAssumeRole(t *testing.T, srv *moto.Server) {
	sessionARN := func(role string) string {
		return "arn:aws:sts::" + moto.AccountID + ":assumed-role/" + role + "/" + awsclient.SessionName(runID)
	}

	t.Run("session carries the run id", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		_, getenv := environment(t, srv, map[string]string{"AWS_ACCESS_KEY_ID": baseKeyID, "AWS_SECRET_ACCESS_KEY": baseSecret})
		role := "arn:aws:iam::" + moto.AccountID + ":role/chaos"
		cfg, source := load(ctx, t, awsclient.Options{Region: srv.Region, AssumeRoleARN: role, RunID: runID, Getenv: getenv}, baseSecret)

		if want := awsclient.Source("environment, assumed role " + role); source != want {
			t.Errorf("source %q, want %q", source, want)
		}
		if _, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			t.Errorf("ECS call with the assumed role: %v", err)
		}
		if got, want := callerARN(ctx, t, cfg), sessionARN("chaos"); got != want {
			t.Errorf("caller %s, want %s", got, want)
		}
	})

	t.Run("with IAM enforced the role's policy decides", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		t.Cleanup(func() { srv.Reset(t) })
		runner := srv.CreateIAMUser(ctx, t, "runner", policy("sts:AssumeRole"))
		role := srv.CreateIAMRole(ctx, t, "chaos-limited",
			trustPolicy(`{"AWS":"arn:aws:iam::`+moto.AccountID+`:user/runner"}`),
			policy("ecs:ListClusters", "ecs:DescribeTaskDefinition"))
		srv.EnforceIAM(t, 0)
		_, getenv := environment(t, srv, map[string]string{"AWS_ACCESS_KEY_ID": runner.AccessKeyID, "AWS_SECRET_ACCESS_KEY": runner.SecretAccessKey})

		base, _ := load(ctx, t, awsclient.Options{Region: srv.Region, RunID: runID, Getenv: getenv}, runner.SecretAccessKey)
		assumed, _ := load(ctx, t, awsclient.Options{Region: srv.Region, AssumeRoleARN: role, RunID: runID, Getenv: getenv}, runner.SecretAccessKey)

		// The base user may not list clusters; the role may: the role's policy is the one checked.
		if _, err := ecs.NewFromConfig(base).ListClusters(ctx, &ecs.ListClustersInput{}); !deniedFor(err, "ecs:ListClusters") {
			t.Errorf("ListClusters as the base user: %v, want AccessDenied naming ecs:ListClusters", err)
		}
		if _, err := ecs.NewFromConfig(assumed).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			t.Errorf("ListClusters as the role, whose policy allows it: %v", err)
		}
		_, err := ecs.NewFromConfig(assumed).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(clusterName), Services: []string{serviceName}})
		if !deniedFor(err, "ecs:DescribeServices") || !strings.Contains(err.Error(), sessionARN("chaos-limited")) {
			t.Errorf("DescribeServices as the role, whose policy lacks it: %v; want AccessDenied naming ecs:DescribeServices and %s", err, sessionARN("chaos-limited"))
		}
		if got, want := callerARN(ctx, t, assumed), sessionARN("chaos-limited"); got != want {
			t.Errorf("caller %s, want %s", got, want)
		}

		// The fault's preflight turns the denial into a refusal that names the missing permission.
		opts := faultOptions(srv)
		opts.Image, err = taskdef.ResolveChaosImage("nginx", runID)
		check(t, "ResolveChaosImage", err)
		client := ecs.NewFromConfig(assumed)
		report := ecsimage.Run(ctx, ecsimage.Clients{Chaos: client, Restore: client}, opts)
		if report.Outcome() != ecsimage.OutcomeRefused || len(report.Services) != 1 ||
			!strings.Contains(report.Services[0].Error, "the credentials need ecs:DescribeServices") {
			t.Errorf("Run with the limited role: outcome %s, services %+v; want refused naming ecs:DescribeServices", report.Outcome(), report.Services)
		}
	})
}

// deniedFor reports whether err is moto's refusal of action. moto says AccessDenied where ECS says
// AccessDeniedException (test/moto/README.md).
func deniedFor(err error, action string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.Contains(apiErr.ErrorCode(), "AccessDenied") && strings.Contains(apiErr.ErrorMessage(), action)
}

// fakeJWT is shaped like a service account token; moto does not validate web identity tokens (test/moto/README.md).
func fakeJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"motofault"}`)) + "." +
		enc([]byte(`{"iss":"https://oidc.eks.us-east-1.amazonaws.com/id/MOTOFAULT","sub":"system:serviceaccount:litmus:ecs-chaos","aud":["sts.amazonaws.com"]}`)) +
		"." + enc([]byte("not-a-signature"))
}

// testWebIdentity checks IRSA through moto's AssumeRoleWithWebIdentity, and that a configured mounted secret
// wins over it (and over environment keys). Web identity runs with IAM enforcement off: moto answers HTTP 500 to
// the unsigned AssumeRoleWithWebIdentity when it is on (test/moto/README.md).
func testWebIdentity(t *testing.T, srv *moto.Server) {
	const irsaRole = "irsa-chaos"
	irsaEnvironment := func(t *testing.T, dir string) map[string]string {
		t.Helper()
		token := filepath.Join(dir, "token")
		if err := os.WriteFile(token, []byte(fakeJWT()), 0o600); err != nil {
			t.Fatal(err)
		}
		return map[string]string{
			"AWS_ROLE_ARN": "arn:aws:iam::" + moto.AccountID + ":role/" + irsaRole, "AWS_WEB_IDENTITY_TOKEN_FILE": token,
			// Needed besides AWS_ENDPOINT_URL: see "AWS_ENDPOINT_URL alone" below.
			"AWS_ENDPOINT_URL_STS": srv.URL,
		}
	}
	createIRSARole := func(ctx context.Context, t *testing.T) {
		t.Helper()
		srv.CreateIAMRole(ctx, t, irsaRole,
			trustPolicy(`{"Federated":"arn:aws:iam::`+moto.AccountID+`:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/MOTOFAULT"}`),
			policy("ecs:*"))
	}

	t.Run("web identity token file", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		createIRSARole(ctx, t)
		dir, _ := environment(t, srv, nil)
		_, getenv := environment(t, srv, irsaEnvironment(t, dir))
		cfg, source := load(ctx, t, awsclient.Options{Region: srv.Region, RunID: runID, Getenv: getenv})

		if source != "web identity (IRSA)" {
			t.Errorf("source %q, want web identity (IRSA)", source)
		}
		if _, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			t.Errorf("ECS call with web identity credentials: %v", err)
		}
		got, want := callerARN(ctx, t, cfg), "arn:aws:sts::"+moto.AccountID+":assumed-role/"+irsaRole+"/"
		if !strings.HasPrefix(got, want) {
			t.Errorf("caller %s, want the role: %s<session>", got, want)
		}
		// The session name is the SDK's (AWS_ROLE_SESSION_NAME or a timestamp), not the run's: only
		// ASSUME_ROLE_ARN sessions carry the run id.
		t.Logf("web identity caller: %s", got)
	})

	// Known limitation of the SDK (config v1.33.18) that awsclient inherits: the web identity provider's STS
	// client is built while credentials are resolved, before the loader sets BaseEndpoint from
	// AWS_ENDPOINT_URL, and sts.NewFromConfig reads the environment's endpoints only when
	// AWS_ENDPOINT_URL_STS is set. So AWS_ENDPOINT_URL alone sends AssumeRoleWithWebIdentity to the regional
	// AWS STS endpoint, although every other call (and ASSUME_ROLE_ARN's AssumeRole) goes to the override.
	t.Run("AWS_ENDPOINT_URL alone does not reach web identity", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		createIRSARole(ctx, t)
		dir, _ := environment(t, srv, nil)
		set := irsaEnvironment(t, dir)
		set["AWS_ENDPOINT_URL_STS"] = ""
		_, getenv := environment(t, srv, set)
		guard := &loopbackOnly{}
		cfg, _ := load(ctx, t, awsclient.Options{Region: srv.Region, RunID: runID, Getenv: getenv, HTTPClient: guard.client()})

		_, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{})
		want := "sts." + srv.Region + ".amazonaws.com:443"
		if err == nil || !slices.Contains(guard.refusedAddresses(), want) {
			t.Errorf("ECS call with web identity and only AWS_ENDPOINT_URL: err %v, refused dials %v; the known limitation "+
				"(AssumeRoleWithWebIdentity sent to %s) changed: if the call now succeeds through moto, turn this case into a requirement",
				err, guard.refusedAddresses(), want)
		}
	})

	t.Run("mounted secret wins over web identity and environment keys", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		createIRSARole(ctx, t)
		secretUser := srv.CreateIAMUser(ctx, t, "chaos-secret", policy("ecs:*"))
		envUser := srv.CreateIAMUser(ctx, t, "chaos-env", policy("ecs:*"))
		dir, _ := environment(t, srv, nil)
		set := irsaEnvironment(t, dir)
		set["AWS_ACCESS_KEY_ID"], set["AWS_SECRET_ACCESS_KEY"] = envUser.AccessKeyID, envUser.SecretAccessKey
		_, getenv := environment(t, srv, set)
		file := filepath.Join(dir, "cloud_config.yml")
		content := "[default]\naws_access_key_id = " + secretUser.AccessKeyID + "\naws_secret_access_key = " + secretUser.SecretAccessKey + "\n"
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}

		cfg, source := load(ctx, t, awsclient.Options{
			Region: srv.Region, SecretConfigured: true, SharedCredentialsFile: file, RunID: runID, Getenv: getenv,
		}, secretUser.SecretAccessKey, envUser.SecretAccessKey)

		if want := awsclient.Source("mounted secret " + file + " profile default"); source != want {
			t.Errorf("source %q, want %q", source, want)
		}
		if _, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			t.Errorf("ECS call with the mounted secret: %v", err)
		}
		if got, want := callerARN(ctx, t, cfg), "arn:aws:iam::"+moto.AccountID+":user/chaos-secret"; got != want {
			t.Errorf("caller %s, want the secret's user %s", got, want)
		}
	})
}

// Package simenv is the ECS side of a test of the fault against the simulator: pkg/ecssim served over HTTP on
// loopback, the test's own SDK client, the fault's two clients built as the pod builds them, one clock for all, and
// what tests observe of the simulator (its requests, a service). chaoslib/ecsimage's own tests use it, so it imports
// no chaoslib package; test/reliability and the process tests (test/e2e, test/kubefault, test/litmus) use it too.
package simenv

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// DefaultScale runs the simulator and the fault 50 times faster than the wall clock: a minute of ECS in 1.2 s.
const DefaultScale = 50

// maxBackoff caps the SDK's retry back-off of the fault's clients: the production retryers (attempts, retryable
// errors, retry budget) are kept, only their wall-clock sleeps are shortened, since a scaled clock does not scale
// them.
const maxBackoff = 20 * time.Millisecond

// Options shape an Env; the zero value is a simulator with ecssim's default timing at DefaultScale.
type Options struct {
	// Scale is how much faster than the wall clock the simulator and the fault run; 0 means DefaultScale.
	Scale float64
	// RealClock serves the simulator on the wall clock instead, for the built binary (which runs on it).
	RealClock bool
	// Timing is the simulated data plane; the zero value is ecssim's default.
	Timing ecssim.Timing
	// HTTPClient, when set, carries every request of the fault's clients (awsclient.Options.HTTPClient), e.g. one
	// whose attempts time out.
	HTTPClient aws.HTTPClient
}

// Env is one simulator and the clients that talk to it.
type Env struct {
	Sim *ecssim.Simulator
	// Client is the test's own, for seeding and checks: it retries at once (ecssim.Server.Client).
	Client *ecs.Client
	// Chaos and Restore are the fault's clients, built as experiment/run.go builds them (FaultClients).
	Chaos, Restore *ecs.Client
	Clock          clock.Clock
	// URL is the simulator's endpoint, for a process's AWS_ENDPOINT_URL_ECS.
	URL string
	// Log is the fault's logger, at debug level; the test's output shows it when the test fails.
	Log *Log

	aws aws.Config
}

// New serves a simulator for the test's lifetime and builds the clients.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Scale == 0 {
		o.Scale = DefaultScale
	}
	var c clock.Clock = clock.NewScaled(o.Scale)
	if o.RealClock {
		c = clock.Real{}
	}
	sim, client, url := ecssim.StartServer(t, ecssim.Options{Clock: c, Timing: o.Timing})
	e := &Env{Sim: sim, Client: client, Clock: c, URL: url, Log: NewLog()}
	e.aws = loadAWSConfig(t, client.Options().Region, o.HTTPClient)
	e.Chaos, e.Restore = e.FaultClients()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("fault log:\n%s", e.Log.String())
		}
	})
	return e
}

// FaultClients builds a new pair of the fault's clients, main and restore, each with its own retry budget: what
// experiment/run.go builds (ecs.NewFromConfig over awsclient.Load's config, ClientOptions of the purpose), pointed
// at the simulator. extra adjusts both, e.g. a middleware that records or breaks calls.
func (e *Env) FaultClients(extra ...func(*ecs.Options)) (chaos, restore *ecs.Client) {
	// An option rather than the pod's AWS_ENDPOINT_URL_ECS: the test process's environment is not the test's to
	// set, and the SDK lets that variable win over aws.Config.BaseEndpoint.
	endpoint := func(o *ecs.Options) { o.BaseEndpoint = aws.String(e.URL) }
	extra = append([]func(*ecs.Options){endpoint}, extra...)
	return ecs.NewFromConfig(e.aws, ClientOptions(awsclient.PurposeMain, extra...)...),
		ecs.NewFromConfig(e.aws, ClientOptions(awsclient.PurposeRestore, extra...)...)
}

// ClientOptions are the pod's options of a fault client of purpose (awsclient.ECSOptions) with the retry back-off
// capped at maxBackoff, then extra: for FaultClients, and for a test that builds the fault's clients over a config
// of its own (against moto).
func ClientOptions(purpose string, extra ...func(*ecs.Options)) []func(*ecs.Options) {
	return append([]func(*ecs.Options){
		awsclient.ECSOptions(purpose),
		func(o *ecs.Options) {
			o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, maxBackoff)
			o.RetryMaxAttempts = 0 // the attempts are the purpose's, whatever AWS_MAX_ATTEMPTS the machine sets
		},
	}, extra...)
}

// loadAWSConfig is awsclient.Load as the pod runs it with a mounted credentials secret (fake keys in a file of the
// test's): the secret is the one credential source that ignores the process's AWS variables and ~/.aws, so the
// developer's machine cannot change the clients.
func loadAWSConfig(t testing.TB, region string, httpClient aws.HTTPClient) aws.Config {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "cloud_config.yml")
	content := "[default]\naws_access_key_id = AKIDSIMENVFAKE000001\naws_secret_access_key = simenv-fake-secret\n"
	if err := os.WriteFile(secret, []byte(content), 0o600); err != nil {
		t.Fatalf("write the fake credentials secret: %v", err)
	}
	cfg, _, err := awsclient.Load(t.Context(), awsclient.Options{
		Region:                region,
		SharedCredentialsFile: secret,
		SecretConfigured:      true,
		RunID:                 "simenv",
		Version:               "test",
		HTTPClient:            httpClient,
		Getenv:                func(string) string { return "" },
	})
	if err != nil {
		t.Fatalf("load the AWS config as the pod does: %v", err)
	}
	return cfg
}

// Package awsclient builds the aws.Config the fault talks to AWS with: region, the credential source chosen by
// the design's precedence (mounted secret, then the SDK's own chain), an optional assumed role, endpoint
// overrides, a user agent naming the fault, and separate retry budgets for the main and the restore clients.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"github.com/sirupsen/logrus"
)

// FaultName names the fault in user agents and role session names, so CloudTrail shows who changed a service.
const FaultName = "ecs-invalid-container-image"

// defaultProfile is the profile the SDK reads when none is named.
const defaultProfile = "default"

// Options says where credentials come from. Tests and the moto harness point it at local servers through the
// standard AWS_ENDPOINT_URL* variables and may pass their own HTTPClient.
type Options struct {
	Region                string
	Profile               string
	SharedCredentialsFile string
	// SecretConfigured means AWS_AUTHENTICATION_SECRET is set: the mounted file is then the only credential
	// source, winning over web identity (IRSA) and environment keys, which the SDK's chain would prefer.
	SecretConfigured bool
	AssumeRoleARN    string
	// RunID goes into the assumed role's session name.
	RunID string
	// Version goes into the user agent.
	Version    string
	HTTPClient aws.HTTPClient
	Logger     logrus.FieldLogger
	// Getenv reads the environment to name the credential source; nil means os.Getenv. The SDK itself always
	// reads the process environment, so tests set both alike.
	Getenv func(string) string
}

// Source says where the credentials come from, e.g. "mounted secret /tmp/cloud_config.yml profile default" or
// "web identity (IRSA), assumed role arn:...". It never holds a credential value.
type Source string

// ErrInvalidOptions is wrapped by errors about Options themselves, before anything is loaded.
var ErrInvalidOptions = errors.New("invalid AWS client options")

// CredentialsError is returned when the SDK's loader rejects the configured credential source. Its message
// names the source and what was rejected, never file contents; Unwrap gives the SDK's error.
type CredentialsError struct {
	Source Source
	Reason string
	Err    error
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("cannot use AWS credentials from %s: %s", e.Source, e.Reason)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// Load builds the aws.Config. It makes no AWS call: credentials are fetched (and a role assumed) on first use.
func Load(ctx context.Context, o Options) (aws.Config, Source, error) {
	if o.Region == "" {
		return aws.Config{}, "", fmt.Errorf("%w: region is empty", ErrInvalidOptions)
	}
	if o.SecretConfigured && o.SharedCredentialsFile == "" {
		return aws.Config{}, "", fmt.Errorf("%w: a secret is configured but no credentials file path is given", ErrInvalidOptions)
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	version := o.Version
	if version == "" {
		version = "unknown"
	}

	loadOptions := []func(*config.LoadOptions) error{
		config.WithRegion(o.Region),
		config.WithAPIOptions([]func(*middleware.Stack) error{awsmiddleware.AddUserAgentKeyValue(FaultName, version)}),
	}
	if o.HTTPClient != nil {
		loadOptions = append(loadOptions, config.WithHTTPClient(o.HTTPClient))
	}
	source, credentialOptions := credentialSource(o, getenv)
	loadOptions = append(loadOptions, credentialOptions...)

	cfg, err := config.LoadDefaultConfig(ctx, loadOptions...)
	if err != nil {
		return aws.Config{}, source, &CredentialsError{Source: source, Reason: reasonInWords(err), Err: err}
	}

	if o.AssumeRoleARN != "" {
		// sts.NewFromConfig resolves its endpoint from cfg's config sources, so AWS_ENDPOINT_URL_STS and
		// AWS_ENDPOINT_URL apply to the AssumeRole call as they do to every other client.
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), o.AssumeRoleARN, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = SessionName(o.RunID)
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
		source += Source(", assumed role " + o.AssumeRoleARN)
	}
	if o.Logger != nil {
		o.Logger.WithFields(logrus.Fields{"credentials": string(source), "region": o.Region}).Info("AWS credentials source")
	}
	return cfg, source, nil
}

// credentialSource applies the design's precedence and names the source the SDK will use.
func credentialSource(o Options, getenv func(string) string) (Source, []func(*config.LoadOptions) error) {
	if o.SecretConfigured {
		profile := o.Profile
		if profile == "" {
			profile = defaultProfile
		}
		// Naming the profile explicitly makes the SDK resolve credentials from the profile before environment
		// keys and web identity; an empty (non-nil) config file list keeps ~/.aws/config and AWS_CONFIG_FILE out,
		// so the mounted file alone decides.
		return Source("mounted secret " + o.SharedCredentialsFile + " profile " + profile), []func(*config.LoadOptions) error{
			config.WithSharedCredentialsFiles([]string{o.SharedCredentialsFile}),
			config.WithSharedConfigFiles([]string{}),
			config.WithSharedConfigProfile(profile),
		}
	}
	var opts []func(*config.LoadOptions) error
	if o.SharedCredentialsFile != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{o.SharedCredentialsFile}))
	}
	switch {
	case o.Profile != "" && o.Profile != getenv("AWS_PROFILE"):
		// A profile chosen by the caller rather than the environment is an explicit choice: it wins.
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
		return Source("shared config profile " + o.Profile), opts
	case getenv("AWS_ACCESS_KEY_ID") != "" && getenv("AWS_SECRET_ACCESS_KEY") != "":
		return "environment", opts
	case getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "":
		return "web identity (IRSA)", opts
	case o.Profile != "":
		return Source("shared config profile " + o.Profile), opts
	}
	return "shared config", opts
}

// reasonInWords describes a loader error from the SDK's typed errors, which carry names only; any other error is
// described by its type, since its text could quote a line of a credentials file.
func reasonInWords(err error) string {
	var notExist config.SharedConfigProfileNotExistError
	var assumeRole config.SharedConfigAssumeRoleError
	var requiresARN config.CredentialRequiresARNError
	switch {
	case errors.As(err, &notExist):
		return fmt.Sprintf("profile %q does not exist", notExist.Profile)
	case errors.As(err, &assumeRole):
		return fmt.Sprintf("profile %q with role_arn has no usable source_profile", assumeRole.Profile)
	case errors.As(err, &requiresARN):
		return fmt.Sprintf("profile %q sets %s without role_arn", requiresARN.Profile, requiresARN.Type)
	}
	return fmt.Sprintf("the AWS SDK rejected the configuration (%T)", err)
}

// STS allows 2-64 characters of [\w+=,.@-] in a role session name.
var sessionNameForbidden = regexp.MustCompile(`[^\w+=,.@-]`)

const maxSessionName = 64

// SessionName is the assumed role's session name, "ecs-invalid-container-image-<runID>", made acceptable to STS
// so that CloudTrail ties every call to the run.
func SessionName(runID string) string {
	name := sessionNameForbidden.ReplaceAllString(FaultName+"-"+runID, "-")
	if len(name) > maxSessionName {
		name = name[:maxSessionName]
	}
	return name
}

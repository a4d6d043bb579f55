package moto

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// CreateIAMUser creates an IAM user in moto with one inline policy (a JSON policy document) and returns
// an access key for it. With IAM enforced, moto authorizes a request by the policies of the user owning
// its access key, so this is how a test grants or withholds a permission.
//
// The go.mod has no IAM client, so the three IAM calls are signed query requests made here; call this
// before EnforceIAM (or count its three calls in WithIAMEnforcement).
func (s *Server) CreateIAMUser(ctx context.Context, t testing.TB, name, policyDocument string) aws.Credentials {
	t.Helper()
	s.iamCall(ctx, t, url.Values{"Action": {"CreateUser"}, "UserName": {name}}, nil)
	s.iamCall(ctx, t, url.Values{
		"Action": {"PutUserPolicy"}, "UserName": {name},
		"PolicyName": {name + "-policy"}, "PolicyDocument": {policyDocument},
	}, nil)
	var created struct {
		AccessKeyID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		SecretAccessKey string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	s.iamCall(ctx, t, url.Values{"Action": {"CreateAccessKey"}, "UserName": {name}}, &created)
	if created.AccessKeyID == "" || created.SecretAccessKey == "" {
		t.Fatalf("moto: CreateAccessKey for %s returned no key", name)
	}
	return aws.Credentials{AccessKeyID: created.AccessKeyID, SecretAccessKey: created.SecretAccessKey, Source: "moto IAM user " + name}
}

// CreateIAMRole creates an IAM role in moto with a trust policy and one inline policy and returns its ARN.
// With IAM enforced, credentials from AssumeRole carry this role's policies; moto answers HTTP 500 to
// calls made with credentials of a role that does not exist, so create it before assuming it. Like
// CreateIAMUser, call it before EnforceIAM.
func (s *Server) CreateIAMRole(ctx context.Context, t testing.TB, name, trustPolicy, policyDocument string) string {
	t.Helper()
	var created struct {
		ARN string `xml:"CreateRoleResult>Role>Arn"`
	}
	s.iamCall(ctx, t, url.Values{"Action": {"CreateRole"}, "RoleName": {name}, "AssumeRolePolicyDocument": {trustPolicy}}, &created)
	s.iamCall(ctx, t, url.Values{
		"Action": {"PutRolePolicy"}, "RoleName": {name},
		"PolicyName": {name + "-policy"}, "PolicyDocument": {policyDocument},
	}, nil)
	if created.ARN == "" {
		t.Fatalf("moto: CreateRole %s returned no ARN", name)
	}
	return created.ARN
}

// iamCall makes one IAM query-protocol call signed with the static test credentials and decodes the XML
// answer into out when out is not nil.
func (s *Server) iamCall(ctx context.Context, t testing.TB, params url.Values, out any) {
	t.Helper()
	params.Set("Version", "2010-05-08")
	body := params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatalf("moto: IAM %s: %v", params.Get("Action"), err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testAccessKeyID, SecretAccessKey: testSecretAccessKey}
	// IAM is a global service signed for us-east-1 whatever the test's region.
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatalf("moto: sign IAM %s: %v", params.Get("Action"), err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moto: IAM %s: %v", params.Get("Action"), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("moto: IAM %s: read answer: %v", params.Get("Action"), err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto: IAM %s: %s: %s", params.Get("Action"), resp.Status, raw)
	}
	if out != nil {
		if err := xml.NewDecoder(bytes.NewReader(raw)).Decode(out); err != nil {
			t.Fatalf("moto: IAM %s: decode answer: %v", params.Get("Action"), err)
		}
	}
}

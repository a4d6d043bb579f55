package tunables

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

// TestCredentialsFileWithByteOrderMark: a credentials file saved by a Windows editor starts with a UTF-8 BOM. The
// SDK's ini tokenizer skips that first line, so only the first section's header is lost; the check must accept
// what the SDK accepts and refuse, saying why, what the SDK cannot read. Each case is also read by the SDK's own
// loader, so the table cannot drift from it.
func TestCredentialsFileWithByteOrderMark(t *testing.T) {
	const bom = "\ufeff"
	keys := "aws_access_key_id = " + fakeKeyID + "\naws_secret_access_key = " + fakeSecret + "\n"
	const bomProblem = `the credentials file from secret "cloud" at "/tmp/cloud_config.yml" starts with a UTF-8 byte-order mark, which hides its first profile header from the AWS SDK (the keys under it belong to no profile); save the file as UTF-8 without a byte-order mark; allowed: ` + ruleCredentialsFile
	cases := []struct {
		name    string
		profile string // AWS_PROFILE; "" selects default
		text    string
		want    string // "" means accepted
	}{
		{"first section is the selected one", "", bom + "[default]\n" + keys, bomProblem},
		{"first section hidden, CRLF", "", strings.ReplaceAll(bom+"[default]\n"+keys, "\n", "\r\n"), bomProblem},
		{"selected profile is a later section", "", bom + "[ops]\n" + keys + "[default]\n" + keys, ""},
		{"selected profile named after the hidden one", "ops", bom + "[default]\n" + keys + "[ops]\n" + keys, ""},
		{"hidden section named again later", "", bom + "[default]\nregion = us-east-1\n[default]\n" + keys, ""},
		{"comment first", "", bom + "# written by notepad\n[default]\n" + keys, ""},
		{"blank line first", "", bom + "\n[default]\n" + keys, ""},
		{"every profile hidden", "ops", bom + "[ops]\n" + keys, bomProblem},
		{"no BOM", "", "[default]\n" + keys, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := with(map[string]string{"AWS_AUTHENTICATION_SECRET": "cloud"})
			if tc.profile != "" {
				env["AWS_PROFILE"] = tc.profile
			}
			_, err := Load(lookupFrom(env), memFS{files: map[string]*string{DefaultSharedCredentialsFile: file(tc.text)}})
			var verr *ValidationError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Load refused a file the SDK reads: %v", err)
			case tc.want != "" && !errors.As(err, &verr):
				t.Fatalf("Load error = %v, want a *ValidationError", err)
			case tc.want != "" && (len(verr.Problems) != 1 || verr.Problems[0] != Problem{envAuthenticationSecret, tc.want}):
				t.Fatalf("problems:\n got %q\nwant %q", verr.Problems, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), fakeSecret) || strings.Contains(err.Error(), fakeKeyID)) {
				t.Fatalf("error leaks a credential value: %v", err)
			}

			// The SDK's loader, on the same bytes, agrees.
			path := filepath.Join(t.TempDir(), "credentials")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			profile := tc.profile
			if profile == "" {
				profile = "default"
			}
			shared, sdkErr := config.LoadSharedConfigProfile(t.Context(), profile, func(o *config.LoadSharedConfigOptions) {
				o.CredentialsFiles = []string{path}
				o.ConfigFiles = []string{}
			})
			sdkReads := sdkErr == nil && shared.Credentials.HasKeys()
			if sdkReads != (tc.want == "") {
				t.Errorf("the SDK reads profile %q: %v (err %v), but the check accepts it: %v", profile, sdkReads, sdkErr, tc.want == "")
			}
		})
	}
}

func TestParseProfilesHiddenHeader(t *testing.T) {
	cases := []struct {
		text       string
		wantHidden string
		wantNames  []string
	}{
		{"\ufeff[default]\na = 1\n[ops]\nb = 2\n", "default", []string{"ops"}},
		{"\ufeff  [ ops ]  \n[default]\n", "ops", []string{"default"}},
		{"\ufeff# comment\n[default]\n", "", []string{"default"}},
		{"[default]\n", "", []string{"default"}},
	}
	for _, tc := range cases {
		profiles, hidden, ok := parseProfiles(tc.text)
		if !ok || hidden != tc.wantHidden || len(profiles) != len(tc.wantNames) {
			t.Errorf("parseProfiles(%q) = %v, %q, %v; want hidden %q and profiles %v", tc.text, profiles, hidden, ok, tc.wantHidden, tc.wantNames)
			continue
		}
		for _, n := range tc.wantNames {
			if profiles[n] == nil {
				t.Errorf("parseProfiles(%q) lacks profile %q: %v", tc.text, n, profiles)
			}
		}
	}
}

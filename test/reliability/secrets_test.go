package reliability

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// knownSecrets are credential values planted in the credentials file and the environment; none may appear, whole
// or in part, in anything the binary writes.
func knownSecrets() map[string]string {
	return map[string]string{
		"file aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYFILESECRET1",
		"file aws_session_token":     "IQoJb3JpZ2luX2VjEFILETOKENxyzzy0123456789abcdefSESSION",
		"env AWS_SECRET_ACCESS_KEY":  "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbENVSECRET2",
		"env AWS_SESSION_TOKEN":      "FwoGZXIvYXdzENVTOKENqwertyuiop9876543210ZYXWVUTSESSION",
	}
}

// secretWindow is the length of the secret substrings looked for: long enough not to match ordinary words, short
// enough to catch a secret cut or partly masked.
const secretWindow = 10

// TestSecretHygiene runs the binary with known secret values in a mounted credentials file and in the environment,
// for a full run, a refused run, bad input, a credentials file that does not parse and `recover`, and checks that
// no stdout or stderr line and no ChaosResult field contains any of them, whole or any 10-character part.
func TestSecretHygiene(t *testing.T) {
	secrets := knownSecrets()
	e := newSimEnv(t, simenv.Options{RealClock: true, Timing: ecssim.ShortCycleTiming()})
	services := e.seedServices(t, 1)
	good := fmt.Sprintf("[default]\naws_access_key_id = AKIDFROMTHEFILE\naws_secret_access_key = %s\naws_session_token = %s\n",
		secrets["file aws_secret_access_key"], secrets["file aws_session_token"])
	// A line without "=" that holds the secret: a parser quoting the bad line would leak it.
	broken := fmt.Sprintf("[default]\naws_access_key_id = AKIDFROMTHEFILE\naws_secret_access_key %s\n[broken\n", secrets["file aws_secret_access_key"])
	for what, secret := range secrets {
		if _, ok := containsPart(good+"\n"+broken, secret, secretWindow); !ok && strings.HasPrefix(what, "file") {
			t.Fatalf("the search cannot find the planted %s value in the file that holds it", what)
		}
	}
	cases := []struct {
		name     string
		file     string
		extra    map[string]string
		args     []string
		wantCode int
	}{
		{name: "full run", file: good, wantCode: 0},
		{name: "full run, json logs", file: good, extra: map[string]string{"LOG_FORMAT": "json"}, wantCode: 0},
		{name: "refused run (unknown service)", file: good, extra: map[string]string{"SERVICE_NAME": "no-such-service"}, wantCode: 2},
		{name: "bad input", file: good, extra: map[string]string{"TOTAL_CHAOS_DURATION": "soon", "TASK_REPLICA_AFFECTED_PERC": "150", "IMAGE": "UPPER CASE"}, wantCode: 2},
		{name: "credentials file that does not parse", file: broken, wantCode: 2},
		{name: "recover", file: good, args: []string{"recover"}, wantCode: 0},
	}
	var rows [][]string
	leaks := 0
	for _, tc := range cases {
		dir := t.TempDir()
		credentials := filepath.Join(dir, "cloud_config.yml")
		if err := os.WriteFile(credentials, []byte(tc.file), 0o600); err != nil {
			t.Fatal(err)
		}
		env := binaryEnv(t, dir, e.url, services, map[string]string{
			"AWS_AUTHENTICATION_SECRET": "aws-creds", "AWS_SHARED_CREDENTIALS_FILE": credentials, "LOG_LEVEL": "debug",
			"AWS_SECRET_ACCESS_KEY": secrets["env AWS_SECRET_ACCESS_KEY"], "AWS_SESSION_TOKEN": secrets["env AWS_SESSION_TOKEN"],
		})
		maps.Copy(env, tc.extra)
		run := runBinary(t, env, tc.args...)
		if run.code != tc.wantCode {
			t.Errorf("%s: exit %d, want %d\nstderr:\n%s", tc.name, run.code, tc.wantCode, run.stderr)
		}
		if run.code == 0 && !strings.Contains(run.stderr, "mounted secret "+credentials) {
			t.Errorf("%s: the log does not say the mounted credentials file was used, so the planted file secrets were not exercised", tc.name)
		}
		result, err := os.ReadFile(filepath.Join(dir, "result.yaml"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		outputs := map[string]string{"stdout": run.stdout, "stderr": run.stderr, "ChaosResult": string(result)}
		found := 0
		for where, text := range outputs {
			for lineNo, line := range strings.Split(text, "\n") {
				for what, secret := range secrets {
					if part, ok := containsPart(line, secret, secretWindow); ok {
						found++
						t.Errorf("%s: %s line %d holds %q of the %s value: %s", tc.name, where, lineNo+1, part, what, line)
					}
				}
			}
		}
		leaks += found
		rows = append(rows, []string{tc.name, fmt.Sprint(run.code), fmt.Sprint(strings.Count(run.stdout+run.stderr, "\n")),
			fmt.Sprint(len(result) > 0), fmt.Sprint(found)})
	}
	t.Logf("secret hygiene: %d runs, %d secret values planted, %d leaks\n%s", len(cases), len(secrets), leaks,
		table([]string{"run", "exit", "output lines", "ChaosResult written", "leaks"}, rows))
}

// containsPart reports whether text holds any n-character substring of secret (or the whole, if shorter).
func containsPart(text, secret string, n int) (string, bool) {
	if len(secret) <= n {
		return secret, strings.Contains(text, secret)
	}
	for i := 0; i+n <= len(secret); i++ {
		if part := secret[i : i+n]; strings.Contains(text, part) {
			return part, true
		}
	}
	return "", false
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	res := &result.ChaosResult{Name: "ecs-invalid-container-image", Experiment: "ecs-invalid-container-image", Phase: result.PhaseCompleted, Verdict: result.VerdictPass,
		FaultStatus: map[string]any{"runId": "r1"}}
	resultPath := filepath.Join(dir, "result.yaml")
	if err := result.NewFileWriter(resultPath).Start(t.Context(), res); err != nil {
		t.Fatal(err)
	}
	yaml, err := os.ReadFile(resultPath)
	if err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{"file to stdout", []string{resultPath}, "", 0, `<title>Chaos report: ecs-invalid-container-image</title>`, ""},
		{"stdin", []string{"-"}, string(yaml), 0, `<title>Chaos report: ecs-invalid-container-image</title>`, ""},
		{"out after the file", []string{resultPath, "--out", filepath.Join(dir, "r.html")}, "", 0, "", "report written to"},
		{"two files", []string{resultPath, resultPath}, "", 2, "", "one result at a time"},
		{"file and cluster", []string{"--from-cluster", "ns/name", resultPath}, "", 2, "", "either a file or --from-cluster"},
		{"bad cluster reference", []string{"--from-cluster", "name"}, "", 2, "", "want NAMESPACE/NAME"},
		{"no cluster", []string{"--from-cluster", "litmus/r1"}, "", 2, "", "needs a Kubernetes API"},
		{"not a result", []string{"-"}, "- just\n- a list\n", 2, "", "holds no ChaosResult"},
		{"missing file", []string{filepath.Join(dir, "nope.yaml")}, "", 2, "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "no cluster" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
				t.Fatal("this case needs to run outside a pod")
			}
			var stdout, stderr bytes.Buffer
			code := reportWith(t.Context(), tc.args, strings.NewReader(tc.stdin), &stdout, &stderr, noEnv)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout %.200q (want %q)\nstderr %q (want %q)", code, tc.code, stdout.String(), tc.stdout, stderr.String(), tc.stderr)
			}
		})
	}
	if page, err := os.ReadFile(filepath.Join(dir, "r.html")); err != nil || !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) {
		t.Errorf("--out file: %v", err)
	}
	var stdout, stderr bytes.Buffer
	if code := reportCommand(t.Context(), []string{resultPath}, &stdout, &stderr, func(string) (string, bool) { return "", false }); code != 0 || !bytes.HasPrefix(stdout.Bytes(), []byte("<!DOCTYPE html>")) {
		t.Errorf("reportCommand: exit %d, stderr %q", code, stderr.String())
	}
}

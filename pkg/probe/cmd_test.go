package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

func cmdJSON(command, typ, criteria, value, probeTimeout string) string {
	return fmt.Sprintf(`{"name": "c", "type": "cmdProbe", "mode": "SOT",
		"cmdProbe/inputs": {"command": %q, "comparator": {"type": %q, "criteria": %q, "value": %q}},
		"runProperties": {"probeTimeout": %q, "interval": "1s"}}`, command, typ, criteria, value, probeTimeout)
}

func runCmd(t *testing.T, probe string, deps Deps) Result {
	t.Helper()
	defs, err := Parse([]byte("[" + probe + "]"))
	if err != nil {
		t.Fatal(err)
	}
	if deps.Clock == nil {
		deps.Clock = clock.NewScaled(speed)
	}
	r := NewRunner(defs, deps)
	r.PreChaos(t.Context())
	return r.Results()[0]
}

func TestInlineCmdProbe(t *testing.T) {
	tests := []struct {
		name, command, typ, criteria, value string
		want                                Verdict
		description                         string
	}{
		{"int output", "echo 42", "int", "==", "42", Passed, "actual value 42"},
		{"int output mismatch", "echo 41", "int", ">=", "42", Failed, "expected >= 42"},
		{"float output", "echo 0.75", "float", "between", "[0.5,1]", Passed, ""},
		{"string output", "printf 'IN_PROGRESS\\n'", "string", "equal", "IN_PROGRESS", Passed, ""},
		{"string contains", "echo hello world", "string", "contains", "world", Passed, ""},
		{"regex", "echo deployment-7", "string", "matches", "^deployment-[0-9]+$", Passed, ""},
		{"output not an int", "echo busy", "int", "==", "0", Failed, `"busy" is not a int`},
		{"non-zero exit", "echo 0; echo boom >&2; exit 3", "int", "==", "0", Failed, "exited with status 3; stderr: boom"},
		{"command not found", "no-such-command-xyz", "int", "==", "0", Failed, "exited with status 127"},
		{"comparison fails with stderr shown", "echo 1; echo warn >&2", "int", "==", "0", Failed, "stderr: warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCmd(t, cmdJSON(tt.command, tt.typ, tt.criteria, tt.value, "20s"), Deps{})
			if res.Verdict != tt.want || !strings.Contains(res.Description, tt.description) {
				t.Fatalf("result = %s %q, want %s containing %q", res.Verdict, res.Description, tt.want, tt.description)
			}
		})
	}
}

func TestInlineCmdProbeTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// The shell starts a child that would outlive it, records its pid, and waits for it.
	command := fmt.Sprintf("sleep 60 & echo $! > %s; wait", pidFile)
	started := time.Now()
	res := runCmd(t, cmdJSON(command, "int", "==", "0", "6s"), Deps{}) // 6s at x20: 300ms
	elapsed := time.Since(started)
	if res.Verdict != Failed || !strings.Contains(res.Description, "probeTimeout of 6s elapsed") ||
		!strings.Contains(res.Description, "process group was killed") {
		t.Fatalf("result = %+v", res)
	}
	if elapsed > 3*time.Second {
		t.Fatalf("timeout took %v", elapsed)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d of the timed-out command is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processGone reports whether pid no longer runs: it does not exist, or it is a zombie waiting for a
// reaper that is not this test.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

func TestInlineCmdProbeLeavesNoBackgroundJob(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "bg.pid")
	command := fmt.Sprintf("sleep 60 > /dev/null 2>&1 & echo $! > %s; echo done", pidFile)
	res := runCmd(t, cmdJSON(command, "string", "equal", "done", "20s"), Deps{})
	if res.Verdict != Passed {
		t.Fatalf("result = %+v", res)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background job %d outlived its probe", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInlineCmdProbeWithoutShell(t *testing.T) {
	noShell := Deps{Shell: filepath.Join(t.TempDir(), "no-such-shell")}
	res := runCmd(t, cmdJSON("echo direct", "string", "equal", "direct", "20s"), noShell)
	if res.Verdict != Passed {
		t.Fatalf("plain command without a shell: %+v", res)
	}
	res = runCmd(t, cmdJSON("echo a | tr a b", "string", "equal", "b", "20s"), noShell)
	if res.Verdict != Failed || !strings.Contains(res.Description, "needs a shell") {
		t.Fatalf("shell syntax without a shell: %+v", res)
	}
	res = runCmd(t, cmdJSON("no-such-binary-xyz", "int", "==", "0", "20s"), noShell)
	if res.Verdict != Failed || !strings.Contains(res.Description, "could not start") {
		t.Fatalf("missing binary without a shell: %+v", res)
	}
}

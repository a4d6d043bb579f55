package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

const (
	defaultShell = "/bin/sh"
	// pipeGrace bounds how long output pipes are drained after the command exits, when a process that
	// left the group still holds them.
	pipeGrace = 2 * time.Second
	// reapGrace bounds the wait for the killed group's members when this process is their reaper (PID 1).
	reapGrace = time.Second
)

// shellSyntax are characters that only a shell understands; without a shell such a command cannot run.
const shellSyntax = "|&;<>()$`\\\"'*?[]#~=%{}\n"

// inlineChecker runs the command in the fault's own container, like Litmus's inline mode.
type inlineChecker struct {
	in    *CmdInputs
	shell string
	clock clock.Clock
}

// argv runs the command through the shell when the image has one. Images without a shell (distroless)
// can still run a plain command line, split on spaces; anything with shell syntax is refused.
func (c *inlineChecker) argv() ([]string, error) {
	shell := c.shell
	if shell == "" {
		shell = defaultShell
	}
	if _, err := os.Stat(shell); err == nil {
		return []string{shell, "-c", c.in.Command}, nil
	}
	if strings.ContainsAny(c.in.Command, shellSyntax) {
		return nil, fmt.Errorf("the command needs a shell (it uses shell syntax) and this image has no %s", shell)
	}
	return strings.Fields(c.in.Command), nil
}

func (c *inlineChecker) check(ctx context.Context) (string, error) {
	argv, err := c.argv()
	if err != nil {
		return "", err
	}
	stdout := &limitedBuffer{max: maxBody}
	stderr := &limitedBuffer{max: 64 << 10}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so that a timeout kills everything the command started, not only the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = pipeGrace
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("could not start the command: %v", err)
	}
	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var waitErr error
	timedOut := false
	select {
	case waitErr = <-waited:
	case <-ctx.Done():
		timedOut = true
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		waitErr = <-waited
	}
	// Background jobs the command left behind belong to the probe too; a probe must not leak processes.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	reapGroup(pgid)

	if timedOut {
		cause := context.Cause(ctx)
		return "", fmt.Errorf("the command did not finish: %w; its process group was killed%s", cause, stderrTail(stderr))
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(waitErr, &exitErr):
		return "", fmt.Errorf("the command %s%s", exitDescription(exitErr), stderrTail(stderr))
	case waitErr != nil && !errors.Is(waitErr, exec.ErrWaitDelay):
		return "", fmt.Errorf("the command could not be waited for: %v", waitErr)
	}
	ok, detail := c.in.Comparator.compare(strings.TrimSpace(stdout.String()))
	if !ok {
		return "", fmt.Errorf("output: %s%s", detail, stderrTail(stderr))
	}
	return "output: " + detail, nil
}

// reapGroup collects the killed group's members that were re-parented to this process, which happens
// when it runs as PID 1 in its container. Elsewhere they are not our children and wait4 says so at once.
func reapGroup(pgid int) {
	deadline := time.Now().Add(reapGrace)
	for time.Now().Before(deadline) {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-pgid, &status, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
		case err != nil: // ECHILD: nothing of that group is ours to reap
			return
		case pid == 0: // members still dying
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func exitDescription(err *exec.ExitError) string {
	if status, ok := err.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return "was killed by signal " + status.Signal().String()
	}
	return fmt.Sprintf("exited with status %d", err.ExitCode())
}

func stderrTail(stderr *limitedBuffer) string {
	text := strings.TrimSpace(stderr.String())
	if text == "" {
		return ""
	}
	if len(text) > 300 {
		text = "…" + text[len(text)-300:]
	}
	return "; stderr: " + text
}

// limitedBuffer keeps the first max bytes written and discards the rest, so a chatty command cannot
// exhaust memory. os/exec writes to it from its own goroutines.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

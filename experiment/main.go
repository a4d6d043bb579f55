// Command experiment is the entrypoint of the "ECS invalid container image" chaos pod. It reads its tunables from
// the environment and mounted secret files, runs the fault in chaoslib/ecsimage against ECS, and records the
// outcome in a ChaosResult (in Kubernetes when it runs in a cluster or KUBECONFIG is set, else as YAML on stdout
// or RESULT_FILE). Its exit code is the outcome: 0 Pass, 1 Fail, 2 nothing changed (bad input or refusal),
// 3 error after injection, 4 restore failed, 5 stopped.
//
// Subcommands: run (the default, for the pod), recover, demo, rehearse (the fault against a simulated copy of the
// real services), report (a ChaosResult as one HTML page), version, help [--markdown].
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
)

func main() {
	// The binary is likely PID 1 in its container: the kernel delivers no default signal handling to PID 1, so
	// SIGTERM and SIGINT are handled explicitly and turned into a cancelled context with a cause.
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		first := true
		for sig := range signals {
			if first {
				cancel(&ecsimage.StopCause{Reason: "received " + signalName(sig)})
				first = false
				continue
			}
			fmt.Fprintf(os.Stderr, "received %s again: already stopping, restore is running\n", signalName(sig))
		}
	}()
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	signal.Stop(signals)
	os.Exit(code)
}

func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		switch s {
		case syscall.SIGTERM:
			return "SIGTERM"
		case syscall.SIGINT:
			return "SIGINT"
		}
	}
	return sig.String()
}

// dispatch runs one subcommand and returns the process exit code.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runCommand(ctx, stdout, stderr, lookupEnv)
	case "recover":
		return recoverCommand(ctx, stdout, stderr, lookupEnv)
	case "report":
		return reportCommand(ctx, args, stdout, stderr, lookupEnv)
	case "demo":
		return demoCommand(ctx, args, stdout, stderr, lookupEnv)
	case "rehearse":
		return rehearseCommand(ctx, args, stdout, stderr, lookupEnv)
	case "version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "--help":
		return helpCommand(args, stdout)
	default:
		fmt.Fprintf(stderr, "unknown subcommand %q; allowed: run, recover, demo, rehearse, report, version, help\n", cmd)
		return int(ecsimage.OutcomeRefused)
	}
}

package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is stamped at build time (-ldflags "-X main.version=..."); the Makefile and Dockerfile set it.
var version = "0.1.0-dev"

// faultName is the fault's name in user agents, events and the ChaosExperiment.
const faultName = "ecs-invalid-container-image"

func versionString() string {
	commit := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				commit = s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("%s %s (commit %s, %s)", faultName, version, commit, runtime.Version())
}

// Package e2e runs the experiment binary as the chaos pod runs it: a separate process, configured only by its
// environment and mounted files, against the ECS simulator (pkg/ecssim) served over HTTP in the test process.
// It checks what only a whole process shows: exit codes, the ChaosResult on stdout, signals and the request log
// the binary leaves in ECS. The binary is built once per package, with the race detector, by TestMain.
package e2e

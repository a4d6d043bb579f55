// Package reliability holds the reliability and security tests of the fault (issue 6): that nothing is left
// broken under aborts at every step, ECS API faults on every call, a SIGKILLed binary followed by `recover`, a
// concurrent deployer, deletion or second run, and bad input; that no credential value reaches a log line or the
// ChaosResult; and, against moto_server with IAM enforced, that every call needs exactly the action the spec's
// policy names.
//
// Every test prints its matrix as a table (t.Logf) and asserts it; RELIABILITY.md at the repository root holds
// the figures and the command reproducing each. ECS dynamics come from pkg/ecssim served over HTTP and driven
// through the real SDK; IAM comes from moto_server (test/moto).
package reliability

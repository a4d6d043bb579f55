// Package ecsimage is the fault "ECS invalid container image": for each target service it registers a chaos
// revision of the service's task definition whose images cannot be pulled, points the service at it for a while,
// then restores the original revision and deployment configuration and deregisters the chaos revision.
//
// The lifecycle of one service is preflight (read-only, refusals change nothing), inject, hold and observe,
// restore (compare-and-set against what the fault itself set) and, for runs that were killed outright, recover
// from the marker the chaos revision carries. Everything the restore needs is captured in a plain value before
// anything changes, so restore is a function of that value and of what ECS reports now; it is safe to call
// twice and safe after a failed inject.
//
// The package talks to ECS through the small ECS interface (the SDK's *ecs.Client satisfies it) and never
// imports Kubernetes packages: the experiment binary turns the Report into a ChaosResult.
package ecsimage

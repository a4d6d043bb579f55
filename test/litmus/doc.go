// Package litmus runs the fault under Litmus's own chaos-operator, chaos-runner and chaos-exporter, built from
// their sources, around the test kube-apiserver (test/kube) with the ECS simulator (pkg/ecssim) as ECS.
//
// The test apiserver has no scheduler, controller-manager or kubelet. Node plays the parts of them that the
// Litmus flow needs and nothing more: it binds pods to one node, creates a Job's pods as the job controller does
// (retries up to backoffLimit), publishes kube-root-ca.crt, removes the pods of a deleted Job, and runs each
// container as a local process the way the kubelet would (environment, secret and service-account volumes,
// runAsUser, in-cluster credentials, status, SIGTERM then SIGKILL on deletion, and the container's log for
// `kubectl logs`). Images map to local binaries.
//
// The tests carry the build tag `litmus` and run only through `make litmus-e2e`, which fails, never skips, when
// the Litmus binaries are not given (see README.md).
package litmus

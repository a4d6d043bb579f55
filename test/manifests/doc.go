// Package manifests tests the Kubernetes manifests under manifests/: that kustomize renders them, that a
// real kube-apiserver accepts every one of them (server-side dry run) with the project's CRD component and
// with Litmus's own CRDs, that the Job is admitted by the `restricted` Pod Security level (and a
// non-compliant variant is not), and that the manifests agree with the binary's tunables, probe parser and
// image version. The tests live in package manifests_test; this file only documents the package.
package manifests

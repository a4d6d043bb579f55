// Package kubefault runs the experiment binary against a real kube-apiserver (with Litmus's own CRDs) and the
// ECS simulator, and checks what a Litmus user sees in Kubernetes: the ChaosResult as it moves through a run,
// events on the ChaosEngine, a stop through engineState, and the shipped RBAC being both enough and needed.
package kubefault

package kube

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Shared is one cluster for all the tests of a package, started by the first
// test that asks for it, so tests that need no cluster run without one.
// Declare it as a package variable and stop it after the tests:
//
//	var cluster = &kube.Shared{Setup: func(t testing.TB, c *kube.Cluster) { c.InstallLitmusCRDs(t) }}
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		cluster.Stop()
//		os.Exit(code)
//	}
type Shared struct {
	// Setup, when set, runs once after the start (for example to install
	// CRDs), with the first test that asks for the cluster.
	Setup func(t testing.TB, c *Cluster)

	once    sync.Once
	cluster *Cluster
	err     error
}

// Get returns the cluster, starting it on first use; if it could not start
// (or its Setup failed), every test asking for it fails.
func (s *Shared) Get(t testing.TB) *Cluster {
	t.Helper()
	s.once.Do(func() {
		s.err = fmt.Errorf("setup failed in %s, the first test using the cluster", t.Name())
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		start := time.Now()
		c, err := New(ctx)
		if err != nil {
			s.err = err
			return
		}
		s.cluster = c
		t.Logf("kube: apiserver %s ready in %s", c.URL, time.Since(start).Round(time.Millisecond))
		if s.Setup != nil {
			// A Setup that fails the test ends this goroutine here, leaving
			// the error above for the tests that come after.
			s.Setup(t, c)
		}
		s.err = nil
	})
	if s.err != nil {
		t.Fatalf("kube: %v", s.err)
	}
	return s.cluster
}

// Stop stops the cluster if it was started.
func (s *Shared) Stop() {
	if s.cluster != nil {
		s.cluster.Stop()
	}
}

package kube

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestBinDirNamesTheBuildWhenMissing(t *testing.T) {
	t.Setenv(EnvBinDir, t.TempDir())
	_, err := BinDir()
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "build.sh") {
		t.Errorf("err = %v, want ErrNoBinaries naming build.sh", err)
	}
}

func TestCacheBinDirFollowsToolsModule(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", "/cache")
	dir, err := cacheBinDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, "/cache/ecschaos/kube-v1.") || !strings.Contains(dir, "-etcd-v3.") || filepath.Base(dir) != "bin" {
		t.Errorf("cache dir = %s", dir)
	}
}

func TestRequiredVersions(t *testing.T) {
	tests := []struct {
		name, gomod string
		want        []string
		wantErr     bool
	}{
		{"block", "module m\n\nrequire (\n\tk8s.io/kubernetes v1.37.2\n\tgo.etcd.io/etcd/server/v3 v3.7.0 // indirect\n)\n", []string{"v1.37.2", "v3.7.0"}, false},
		{"one line", "module m\nrequire k8s.io/kubernetes v1.37.2\nrequire go.etcd.io/etcd/server/v3 v3.7.0\n", []string{"v1.37.2", "v3.7.0"}, false},
		{"missing", "module m\nrequire k8s.io/kubernetes v1.37.2\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "go.mod")
			if err := os.WriteFile(path, []byte(tt.gomod), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := requiredVersions(path, "k8s.io/kubernetes", "go.etcd.io/etcd/server/v3")
			if (err != nil) != tt.wantErr || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestCluster starts a real cluster and checks what tests rely on: the admin
// identity, kubectl of the same release, Litmus's CRDs, RBAC enforced on
// service-account tokens, and a clean stop.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := Start(t)
	t.Logf("cluster ready in %s", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	out, err := c.Kubectl(t, "version", "-o", "json")
	if err != nil || !strings.Contains(out, `"serverVersion"`) {
		t.Fatalf("kubectl version: %v\n%s", err, out)
	}

	c.InstallLitmusCRDs(t)
	for _, crd := range []string{"chaosengines", "chaosexperiments", "chaosresults"} {
		if out, err := c.Kubectl(t, "get", crd+".litmuschaos.io", "-A"); err != nil {
			t.Errorf("kubectl get %s: %v\n%s", crd, err, out)
		}
	}

	token := c.TokenFor(t, "team-a", "runner")
	runner, err := kubernetes.NewForConfig(c.ConfigFor(token))
	if err != nil {
		t.Fatal(err)
	}
	_, err = runner.CoreV1().Secrets("team-a").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("a service account without a role listed secrets: %v", err)
	}
	if c.ConfigFor(token).BearerToken == c.Config.BearerToken {
		t.Error("ConfigFor kept the admin token")
	}

	pids := make([]int, 0, len(c.processes))
	for _, p := range c.processes {
		pids = append(pids, p.cmd.Process.Pid)
	}
	c.Stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still there after Stop: %v", pid, err)
		}
	}
}

func TestNamespaceName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"TestWatch/poll", "testwatch-poll"},
		{"TestX/with spaces_and#chars", "testx-with-spaces-and-chars"},
		{"Test" + strings.Repeat("A", 80), "test" + strings.Repeat("a", 50) + "-"},
	}
	for _, tt := range tests {
		got := namespaceName(tt.in)
		if len(got) > 63 || !strings.HasPrefix(got, tt.want) {
			t.Errorf("namespaceName(%q) = %q, want prefix %q", tt.in, got, tt.want)
		}
	}
}

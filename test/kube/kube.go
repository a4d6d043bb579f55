// Package kube runs a real kube-apiserver and etcd on loopback for integration
// tests, with an admin identity, service-account tokens and the project's
// kubectl. The binaries are built from source once per machine by build.sh;
// this package only finds and runs them, and fails the test when they are
// missing, so a test never silently runs without its apiserver.
//
// There is no controller-manager: tests create the namespaces and
// ServiceAccounts they need (TokenFor creates the ServiceAccount it is asked
// for), and nothing garbage-collects owned objects.
package kube

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ecschaos/ecs-invalid-container-image/test/freeport"
)

// EnvBinDir names a folder holding kube-apiserver, etcd and kubectl; it wins
// over the per-machine cache folder that build.sh fills.
const EnvBinDir = "ECSCHAOS_KUBE_BIN"

// EnvLitmusCRDs overrides where Litmus's CRD bundle is read from.
const EnvLitmusCRDs = "ECSCHAOS_LITMUS_CRDS"

const (
	mainModule = "github.com/ecschaos/ecs-invalid-container-image"
	adminUser  = "ecschaos-admin"
	// startTimeout bounds etcd plus apiserver readiness; a cold apiserver is
	// ready in a few seconds, the rest is headroom for a loaded machine.
	startTimeout = 90 * time.Second
	// stopGrace is how long a process group gets after SIGTERM before SIGKILL.
	stopGrace     = 5 * time.Second
	kubectlLimit  = 2 * time.Minute
	startAttempts = 3
)

// Cluster is one running etcd plus kube-apiserver pair.
type Cluster struct {
	// Config authenticates as an admin in system:masters.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file holding the admin identity.
	Kubeconfig string
	// BinDir holds the kube-apiserver, etcd and kubectl that run this cluster.
	BinDir string
	// URL is the apiserver's https address on 127.0.0.1.
	URL string

	dir       string
	ownsDir   bool
	processes []*process
}

// Start runs a cluster for one test (or one test's subtree) and stops it, and
// removes its files, when the test ends. A cluster that cannot start fails
// the test.
func Start(t testing.TB) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := newCluster(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("kube: %v", err)
	}
	t.Cleanup(c.Stop)
	t.Logf("kube: apiserver %s ready", c.URL)
	return c
}

// New runs a cluster outside a test, for TestMain: one cluster shared by a
// package's tests. The caller must call Stop, and must treat an error as a
// failure of the package, never as a reason to skip.
func New(ctx context.Context) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "ecschaos-kube-")
	if err != nil {
		return nil, fmt.Errorf("create cluster folder: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	c, err := newCluster(ctx, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	c.ownsDir = true
	return c, nil
}

// Stop kills the apiserver and etcd process groups and, for a cluster made by
// New, removes its files. It is safe to call more than once.
func (c *Cluster) Stop() {
	for i := len(c.processes) - 1; i >= 0; i-- {
		c.processes[i].stop()
	}
	c.processes = nil
	if c.ownsDir {
		_ = os.RemoveAll(c.dir)
		c.ownsDir = false
	}
}

// Clientset returns a typed admin client, failing the test if it cannot.
func (c *Cluster) Clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("kube: clientset: %v", err)
	}
	return cs
}

// Kubectl runs the cluster's own kubectl as the admin and returns its
// combined output.
func (c *Cluster) Kubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	// The cluster's kubeconfig is the only one kubectl may see.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "HOME="+c.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// ApplyFile applies a manifest with server-side apply and waits until the
// CustomResourceDefinitions it contains are Established, so the test can use
// them at once. Any failure fails the test.
func (c *Cluster) ApplyFile(t testing.TB, path string) {
	t.Helper()
	out, err := c.Kubectl(t, "apply", "--server-side", "--force-conflicts", "-f", path)
	if err != nil {
		t.Fatalf("kube: apply %s: %v", path, err)
	}
	var crds []string
	for _, line := range strings.Split(out, "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.HasPrefix(name, "customresourcedefinition.apiextensions.k8s.io/") {
			crds = append(crds, name)
		}
	}
	if len(crds) == 0 {
		return
	}
	// Polled rather than `kubectl wait`: right after the apply a CRD may have no status.conditions yet, and
	// kubectl wait then fails at once instead of waiting ("accessor error: <nil>").
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("kube: %v", err)
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, crd := range crds {
		name := strings.TrimPrefix(crd, "customresourcedefinition.apiextensions.k8s.io/")
		for !crdEstablished(ctx, dyn, crdGVR, name) {
			select {
			case <-ctx.Done():
				t.Fatalf("kube: CRD %s of %s not established within 60s", name, path)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func crdEstablished(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, name string) bool {
	obj, err := dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// CreateNamespace creates a namespace (an existing one is fine).
func (c *Cluster) CreateNamespace(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Clientset(t).CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("kube: create namespace %s: %v", name, err)
	}
}

// Namespace creates a namespace named after the test (sanitized, at most 63
// characters) and returns its name, so tests sharing a cluster stay apart.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	name := namespaceName(t.Name())
	c.CreateNamespace(t, name)
	return name
}

func namespaceName(testName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 63 {
		// Keep the name unique when cutting it: end with a hash of the whole.
		sum := sha256.Sum256([]byte(name))
		name = strings.TrimRight(name[:54], "-") + "-" + hex.EncodeToString(sum[:4])
	}
	if name == "" {
		name = "test"
	}
	return name
}

// TokenFor returns a bearer token for a ServiceAccount from the TokenRequest
// API, creating the namespace and the ServiceAccount when missing (there is
// no controller-manager to do it). What the token may do is up to the RBAC
// objects the test creates.
func (c *Cluster) TokenFor(t testing.TB, namespace, serviceAccount string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.CreateNamespace(t, namespace)
	sas := c.Clientset(t).CoreV1().ServiceAccounts(namespace)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serviceAccount}}
	if _, err := sas.Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("kube: create serviceaccount %s/%s: %v", namespace, serviceAccount, err)
	}
	expiry := int64(3600)
	tr, err := sas.CreateToken(ctx, serviceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kube: token for %s/%s: %v", namespace, serviceAccount, err)
	}
	return tr.Status.Token
}

// ConfigFor returns a client configuration for this cluster that
// authenticates with the given bearer token instead of the admin's.
func (c *Cluster) ConfigFor(token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(c.Config)
	cfg.BearerToken = token
	return cfg
}

// LitmusCRDsPath returns the path of Litmus's CRD bundle: EnvLitmusCRDs when
// set, else the copy the repository ships, manifests/crds/chaos_crds.yaml
// (test/manifests pins it to Litmus's own file). A missing file fails the test.
func LitmusCRDsPath(t testing.TB) string {
	t.Helper()
	path, err := litmusCRDsPath()
	if err != nil {
		t.Fatalf("kube: %v", err)
	}
	return path
}

func litmusCRDsPath() (string, error) {
	path := os.Getenv(EnvLitmusCRDs)
	if path == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		path = filepath.Join(root, "manifests", "crds", "chaos_crds.yaml")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("litmus CRDs (set %s to override): %w", EnvLitmusCRDs, err)
	}
	return path, nil
}

// InstallLitmusCRDs applies Litmus's published CRDs, unchanged.
func (c *Cluster) InstallLitmusCRDs(t testing.TB) {
	t.Helper()
	c.ApplyFile(t, LitmusCRDsPath(t))
}

// CreateEngine creates an active ChaosEngine in namespace as Litmus users write one, run by serviceAccount and
// listing experiment (its name, with a spec where the test needs one), and returns its UID.
func CreateEngine(t testing.TB, admin dynamic.Interface, namespace, name, serviceAccount string, experiment map[string]any) string {
	t.Helper()
	engines := schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosengines"}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "litmuschaos.io/v1alpha1",
		"kind":       "ChaosEngine",
		"metadata":   map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{
			"engineState":         "active",
			"chaosServiceAccount": serviceAccount,
			"experiments":         []any{experiment},
		},
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	created, err := admin.Resource(engines).Namespace(namespace).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ChaosEngine %s/%s: %v", namespace, name, err)
	}
	return string(created.GetUID())
}

func newCluster(ctx context.Context, dir string) (*Cluster, error) {
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{BinDir: binDir, dir: dir}
	// Free ports are picked by binding and releasing them, so another process
	// can take one in between; a start that fails is retried on new ports.
	var errs []error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		attemptDir := filepath.Join(dir, fmt.Sprintf("attempt-%d", attempt))
		err := c.start(ctx, attemptDir)
		if err == nil {
			return c, nil
		}
		c.Stop()
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (c *Cluster) start(ctx context.Context, dir string) error {
	for _, sub := range []string{"etcd", "certs", "pki"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("create %s: %w", sub, err)
		}
	}
	ports, err := freeport.Ports(3)
	if err != nil {
		return err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	etcd, err := startProcess(dir, "etcd", filepath.Join(c.BinDir, "etcd"),
		"--name=ecschaos",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=ecschaos="+peerURL,
		// Test data need not survive a crash; fsync dominates etcd latency.
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, etcd)
	if err := waitHTTP(ctx, etcd, &http.Client{Timeout: 2 * time.Second}, etcdURL+"/health"); err != nil {
		return fmt.Errorf("etcd not healthy: %w", err)
	}

	adminToken, err := randomToken()
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(dir, "pki", "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(fmt.Sprintf("%s,%s,%s-uid,\"system:masters\"\n", adminToken, adminUser, adminUser)), 0o600); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	saKey, saPub, err := writeServiceAccountKeys(filepath.Join(dir, "pki"))
	if err != nil {
		return err
	}
	certDir := filepath.Join(dir, "certs")
	c.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	apiserver, err := startProcess(dir, "kube-apiserver", filepath.Join(c.BinDir, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", ports[2]),
		"--cert-dir="+certDir,
		"--authorization-mode=RBAC",
		"--token-auth-file="+tokenFile,
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		// No controller-manager maintains the kubernetes Service endpoints.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=1",
	)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, apiserver)

	// The serving certificate is written at start; wait for it before
	// trusting it, then poll /readyz with the admin token.
	crt := filepath.Join(certDir, "apiserver.crt")
	var caData []byte
	for caData == nil {
		if data, err := os.ReadFile(crt); err == nil && len(data) > 0 {
			caData = data
			break
		}
		if err := pause(ctx, apiserver, 50*time.Millisecond); err != nil {
			return fmt.Errorf("apiserver serving certificate: %w", err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caData) {
		return fmt.Errorf("apiserver serving certificate %s is not PEM", crt)
	}
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &bearer{token: adminToken, next: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		}},
	}
	if err := waitHTTP(ctx, apiserver, client, c.URL+"/readyz"); err != nil {
		return fmt.Errorf("apiserver not ready: %w", err)
	}

	c.Config = &rest.Config{
		Host:            c.URL,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: caData},
		// Tests create many objects quickly; client-side throttling would
		// only slow them down.
		QPS:   200,
		Burst: 400,
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	return writeKubeconfig(c.Kubeconfig, c.URL, caData, adminToken)
}

func writeKubeconfig(path, url string, caData []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["ecschaos"] = &clientcmdapi.Cluster{Server: url, CertificateAuthorityData: caData}
	cfg.AuthInfos[adminUser] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["ecschaos"] = &clientcmdapi.Context{Cluster: "ecschaos", AuthInfo: adminUser, Namespace: "default"}
	cfg.CurrentContext = "ecschaos"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// writeServiceAccountKeys generates the key pair that signs and verifies
// service-account tokens; ECDSA keeps start fast (RSA generation is slow).
func writeServiceAccountKeys(dir string) (keyPath, pubPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate service-account key: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("encode service-account key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("encode service-account public key: %w", err)
	}
	keyPath = filepath.Join(dir, "sa.key")
	pubPath = filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", fmt.Errorf("write service-account key: %w", err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600); err != nil {
		return "", "", fmt.Errorf("write service-account public key: %w", err)
	}
	return keyPath, pubPath, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(req)
}

// waitHTTP polls url until it answers 200, the process exits or ctx ends.
func waitHTTP(ctx context.Context, p *process, client *http.Client, url string) error {
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("build request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body[:n]))
		} else {
			last = err.Error()
		}
		if err := pause(ctx, p, 100*time.Millisecond); err != nil {
			return fmt.Errorf("%w (last answer from %s: %s)", err, url, last)
		}
	}
}

// pause waits d unless the process exits or ctx ends first, which it reports
// with the end of the process's log.
func pause(ctx context.Context, p *process, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-p.exited:
		return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.logTail())
	case <-ctx.Done():
		return fmt.Errorf("%s: %w\n%s", p.name, ctx.Err(), p.logTail())
	}
}

// process is one server running in its own process group, so stopping it
// also stops anything it started.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error // set before exited is closed
}

func startProcess(dir, name, path string, args ...string) (*process, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s binary: %w", name, err)
	}
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.exited
	}
}

func (p *process) logTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no %s log: %v)", p.name, err)
	}
	const max = 4000
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return fmt.Sprintf("--- end of %s log ---\n%s", p.name, data)
}

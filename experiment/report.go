package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/report"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
)

// reportReadTimeout bounds reading the ChaosResult from the cluster.
const reportReadTimeout = 30 * time.Second

// reportCommand renders a ChaosResult into one self-contained HTML file: `experiment report [--out FILE]
// [FILE | - | --from-cluster NAMESPACE/NAME]`. The result comes from a file (YAML or JSON, as RESULT_FILE or
// kubectl get -o yaml writes it), stdin, or the cluster (in a pod, or with KUBECONFIG). Bad input exits 2.
func reportCommand(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	return reportWith(ctx, args, os.Stdin, stdout, stderr, lookupEnv)
}

// reportWith is reportCommand reading stdin from the given reader, so that tests can feed it.
func reportWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	req, err := parseReportArgs(args, stderr)
	if err != nil {
		return int(ecsimage.OutcomeRefused)
	}
	res, err := req.read(ctx, stdin, lookupEnv)
	if err == nil {
		err = req.write(res, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return int(ecsimage.OutcomeRefused)
	}
	return 0
}

// reportRequest is what the report subcommand's arguments ask for.
type reportRequest struct {
	out         string   // the HTML file; empty: stdout
	fromCluster string   // NAMESPACE/NAME of a ChaosResult in the cluster
	files       []string // the result files given; "-" is stdin
}

// parseReportArgs reads the flags and the files; the flag package has already told stderr what is wrong when it
// fails.
func parseReportArgs(args []string, stderr io.Writer) (reportRequest, error) {
	var req reportRequest
	flags := flag.NewFlagSet("report", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&req.out, "out", "", "write the HTML here (default: stdout)")
	flags.StringVar(&req.fromCluster, "from-cluster", "", "read the ChaosResult NAMESPACE/NAME from the cluster (in a pod, or with KUBECONFIG)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: experiment report [--out FILE] [FILE | - | --from-cluster NAMESPACE/NAME]")
		flags.PrintDefaults()
	}
	// Flags may follow the file too (report result.yaml --out report.html): the flag package stops at the first
	// argument that is not a flag, so parsing resumes after each one.
	for {
		if err := flags.Parse(args); err != nil {
			return reportRequest{}, err
		}
		if flags.NArg() == 0 {
			return req, nil
		}
		req.files = append(req.files, flags.Arg(0))
		args = flags.Args()[1:]
	}
}

// read returns the one ChaosResult the request names: from the cluster, from a file, or from stdin ("-" or no
// file at all).
func (req reportRequest) read(ctx context.Context, stdin io.Reader, lookupEnv func(string) (string, bool)) (*result.ChaosResult, error) {
	switch {
	case req.fromCluster != "" && len(req.files) > 0:
		return nil, errors.New("give either a file or --from-cluster, not both")
	case len(req.files) > 1:
		return nil, fmt.Errorf("one result at a time; got %d files", len(req.files))
	case req.fromCluster != "":
		return resultFromCluster(ctx, req.fromCluster, lookupEnv)
	}
	if len(req.files) == 0 || req.files[0] == "-" {
		return readResult("stdin", stdin)
	}
	f, err := os.Open(req.files[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readResult(req.files[0], f)
}

// readResult reads a ChaosResult in YAML or JSON, as RESULT_FILE or kubectl get -o yaml writes it; name says
// where it came from in errors.
func readResult(name string, in io.Reader) (*result.ChaosResult, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	stored, err := result.ReadYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%s holds no ChaosResult: %w", name, err)
	}
	return &stored.Result, nil
}

// write renders res and writes the page to stdout, or to the --out file (written atomically, so that a reader
// never sees half a page) with a line on stderr saying where it went.
func (req reportRequest) write(res *result.ChaosResult, stdout, stderr io.Writer) error {
	page, err := renderReport(res)
	if err != nil {
		return err
	}
	if req.out == "" {
		if _, err := stdout.Write(page); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	if err := report.WriteAtomic(req.out, page); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "report written to %s\n", req.out)
	return nil
}

// resultFromCluster reads a ChaosResult with the dynamic client, as pkg/result writes it.
func resultFromCluster(ctx context.Context, ref string, lookupEnv func(string) (string, bool)) (*result.ChaosResult, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
		return nil, fmt.Errorf("--from-cluster %q: want NAMESPACE/NAME (a namespace name and a ChaosResult name)", ref)
	}
	cfg, err := kubeConfig(lookupEnv)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, errors.New("--from-cluster needs a Kubernetes API: run in a pod or set KUBECONFIG")
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, reportReadTimeout)
	defer cancel()
	obj, err := dyn.Resource(result.GVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read ChaosResult %s/%s: %w", ns, name, err)
	}
	stored, err := result.FromUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &stored.Result, nil
}

func renderReport(res *result.ChaosResult) ([]byte, error) {
	var buf bytes.Buffer
	if err := report.Render(&buf, res, report.Options{Generator: versionString()}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

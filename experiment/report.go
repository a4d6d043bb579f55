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

func reportWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	flags := flag.NewFlagSet("report", flag.ContinueOnError)
	flags.SetOutput(stderr)
	out := flags.String("out", "", "write the HTML here (default: stdout)")
	from := flags.String("from-cluster", "", "read the ChaosResult NAMESPACE/NAME from the cluster (in a pod, or with KUBECONFIG)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: experiment report [--out FILE] [FILE | - | --from-cluster NAMESPACE/NAME]")
		flags.PrintDefaults()
	}
	// Flags may follow the file too (report result.yaml --out report.html): the flag package stops at the first
	// argument that is not a flag, so parsing resumes after each one.
	var positional []string
	for {
		if err := flags.Parse(args); err != nil {
			return int(ecsimage.OutcomeRefused)
		}
		if flags.NArg() == 0 {
			break
		}
		positional = append(positional, flags.Arg(0))
		args = flags.Args()[1:]
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "report: "+format+"\n", a...)
		return int(ecsimage.OutcomeRefused)
	}
	var res *result.ChaosResult
	switch {
	case *from != "" && len(positional) > 0:
		return bad("give either a file or --from-cluster, not both")
	case len(positional) > 1:
		return bad("one result at a time; got %d files", len(positional))
	case *from != "":
		r, err := resultFromCluster(ctx, *from, lookupEnv)
		if err != nil {
			return bad("%v", err)
		}
		res = r
	default:
		name, in := "stdin", stdin
		if len(positional) == 1 && positional[0] != "-" {
			name = positional[0]
			f, err := os.Open(name)
			if err != nil {
				return bad("%v", err)
			}
			defer f.Close()
			in = f
		}
		data, err := io.ReadAll(in)
		if err != nil {
			return bad("read %s: %v", name, err)
		}
		stored, err := result.ReadYAML(data)
		if err != nil {
			return bad("%s holds no ChaosResult: %v", name, err)
		}
		res = &stored.Result
	}
	page, err := renderReport(res)
	if err != nil {
		return bad("%v", err)
	}
	if *out == "" {
		if _, err := stdout.Write(page); err != nil {
			return bad("write: %v", err)
		}
		return 0
	}
	if err := report.WriteAtomic(*out, page); err != nil {
		return bad("%v", err)
	}
	fmt.Fprintf(stderr, "report written to %s\n", *out)
	return 0
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

// Command oci assembles the fault's container image without a Docker daemon: it cross-builds the binary
// with the Makefile's flags for linux/amd64, lays it on a base layer standing in for
// gcr.io/distroless/static-debian12:nonroot, and writes an OCI image layout directory plus a
// `docker load`-able tarball. It prints the image size.
//
//	cd build/oci && go run . -version 0.1.0 -out ../../dist
//
// No registry is reachable where this runs, so the base is empty.Image plus the files the distroless base
// provides and a static binary needs: the CA bundle (copied from this machine), /etc/passwd and /etc/group
// with nonroot (65532), /tmp (1777) and /home/nonroot. What differs from the Dockerfile's image: no
// distroless layer (so no /etc/os-release, tzdata, /etc/nsswitch.conf or Debian package metadata; the
// binary embeds its time zone data needs, if any, and reads none of these), the CA bundle is this
// machine's rather than Debian's, and the image is linux/amd64 only. The config (entrypoint, command,
// user, labels, environment, working directory) is the Dockerfile's final stage, which the test checks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	productModule = "github.com/ecschaos/ecs-invalid-container-image"
	imageRepo     = "ghcr.io/ecschaos/ecs-invalid-container-image"
	// buildTimeout bounds the whole run; a cold cross-build of the binary takes a few minutes on 2 cores.
	buildTimeout = 15 * time.Minute
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "oci:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("oci", flag.ContinueOnError)
	version := fs.String("version", "0.1.0-dev", "version stamped into the binary and the image label and tag")
	out := fs.String("out", "", "output folder for oci/ (the layout) and image.tar (default: <repo>/dist)")
	root := fs.String("root", "", "the product module's root (default: found above the working directory)")
	caCerts := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the image")
	epoch := fs.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "creation time in Unix seconds (default 0, reproducible)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
		if *root, err = findRepoRoot(wd); err != nil {
			return err
		}
	}
	if *out == "" {
		*out = filepath.Join(*root, "dist")
	}
	created := time.Unix(0, 0).UTC()
	if *epoch != "" {
		secs, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("source-date-epoch %q: want Unix seconds", *epoch)
		}
		created = time.Unix(secs, 0).UTC()
	}

	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	work, err := os.MkdirTemp("", "ecschaos-oci-")
	if err != nil {
		return fmt.Errorf("work folder: %w", err)
	}
	defer os.RemoveAll(work)

	img, err := buildImage(ctx, Options{RepoRoot: *root, Version: *version, CACerts: *caCerts, Created: created, WorkDir: work})
	if err != nil {
		return err
	}
	ref := imageRepo + ":" + *version
	layoutDir, tarPath, err := write(img, *out, ref)
	if err != nil {
		return err
	}
	size, err := imageSize(img)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	fmt.Fprintf(stdout, "image %s@%s\n  layout  %s\n  tarball %s\n  size    %d bytes compressed (%.1f MiB)\n",
		ref, digest, layoutDir, tarPath, size, float64(size)/(1<<20))
	return nil
}

// write replaces <out>/oci with a one-image OCI layout and writes <out>/image.tar.
func write(img v1.Image, out, ref string) (layoutDir, tarPath string, err error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	layoutDir = filepath.Join(out, "oci")
	// A layout only grows by appending; start fresh so it holds exactly this image.
	if err := os.RemoveAll(layoutDir); err != nil {
		return "", "", fmt.Errorf("remove old layout: %w", err)
	}
	p, err := layout.Write(layoutDir, empty.Index)
	if err != nil {
		return "", "", fmt.Errorf("create layout %s: %w", layoutDir, err)
	}
	annotations := map[string]string{"org.opencontainers.image.ref.name": tag.TagStr()}
	platform := v1.Platform{OS: "linux", Architecture: "amd64"}
	if err := p.AppendImage(img, layout.WithAnnotations(annotations), layout.WithPlatform(platform)); err != nil {
		return "", "", fmt.Errorf("write layout %s: %w", layoutDir, err)
	}
	tarPath = filepath.Join(out, "image.tar")
	if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
		return "", "", fmt.Errorf("write tarball %s: %w", tarPath, err)
	}
	return layoutDir, tarPath, nil
}

// findRepoRoot walks up to the product module's go.mod (this tool's own go.mod is passed over).
func findRepoRoot(dir string) (string, error) {
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(string(data)) == productModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of " + productModule + " above the working directory; pass -root")
		}
		dir = parent
	}
}

func modulePath(gomod string) string {
	for _, line := range strings.Split(gomod, "\n") {
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
}

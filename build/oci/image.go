package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The final stage of the Dockerfile, spelled once. The test reads the Dockerfile and compares it with these.
const (
	binaryPath = "/experiment"
	// nonrootID is distroless's nonroot user and group.
	nonrootID   = 65532
	nonrootHome = "/home/nonroot"
	caCertsPath = "/etc/ssl/certs/ca-certificates.crt"
	imageTitle  = "ecs-invalid-container-image"
	imageSource = "https://github.com/ecschaos/ecs-invalid-container-image"
	licenses    = "Apache-2.0"
	description = "AWS ECS invalid container image chaos fault (Litmus-compatible)"
)

var (
	entrypoint = []string{binaryPath}
	command    = []string{"run"}
	imageUser  = fmt.Sprintf("%d:%d", nonrootID, nonrootID)
	// imageEnv is what distroless/static sets; SSL_CERT_FILE points Go's TLS at the bundle explicitly.
	imageEnv = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SSL_CERT_FILE=" + caCertsPath,
	}
)

// Distroless's account files, reduced to the users a static binary can meet.
const (
	passwdFile = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	groupFile = "root:x:0:\n" +
		"nobody:x:65534:\n" +
		"nonroot:x:65532:\n"
)

// Options say what to build and from where.
type Options struct {
	// RepoRoot is the product module's root, where `go build ./experiment` runs.
	RepoRoot string
	// Version is stamped into the binary (main.version) and the version label.
	Version string
	// CACerts is the CA bundle copied to /etc/ssl/certs/ca-certificates.crt.
	CACerts string
	// Created is the image's creation time and every file's mtime; a fixed value makes builds reproducible.
	Created time.Time
	// WorkDir holds the built binary; the caller removes it.
	WorkDir string
}

func labels(version string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       imageTitle,
		"org.opencontainers.image.description": description,
		"org.opencontainers.image.source":      imageSource,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.licenses":    licenses,
	}
}

// buildImage cross-builds the binary and assembles the image: a base layer standing in for
// distroless/static (CA bundle, account files, /tmp, the nonroot home) and the binary's layer.
func buildImage(ctx context.Context, o Options) (v1.Image, error) {
	if o.Version == "" {
		return nil, errors.New("a version is required")
	}
	binary := filepath.Join(o.WorkDir, "experiment")
	if err := buildBinary(ctx, o.RepoRoot, o.Version, binary); err != nil {
		return nil, err
	}
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	exe, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read built binary: %w", err)
	}
	base, err := baseLayer(o.Created, certs)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	app, err := layer(o.Created, []entry{
		{name: strings.TrimPrefix(binaryPath, "/"), mode: 0o755, data: exe},
	})
	if err != nil {
		return nil, fmt.Errorf("binary layer: %w", err)
	}
	return assemble(base, app, o)
}

// baseLayer is what the binary needs of distroless/static: the CA bundle, the account files of the nonroot
// user, its home and a /tmp.
func baseLayer(created time.Time, certs []byte) (v1.Layer, error) {
	return layer(created, []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwdFile)},
		{name: "etc/group", mode: 0o644, data: []byte(groupFile)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(caCertsPath, "/"), mode: 0o644, data: certs},
		{name: "home/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(nonrootHome, "/") + "/", mode: 0o700, dir: true, owner: nonrootID},
		// Sticky and world-writable like a real /tmp; the manifests mount an emptyDir over it anyway.
		{name: "tmp/", mode: 0o1777, dir: true},
	})
}

// assemble stacks the layers into an OCI image for linux/amd64 and sets its configuration as the Dockerfile's
// final stage does (entrypoint, user, environment, working directory, labels).
func assemble(base, app v1.Layer, o Options) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, base, app)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: o.Created}
	cf.Author = imageSource
	cf.Config = v1.Config{
		Entrypoint: entrypoint,
		Cmd:        command,
		User:       imageUser,
		Env:        imageEnv,
		WorkingDir: nonrootHome,
		Labels:     labels(o.Version),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

// buildBinary runs the Makefile's build for linux/amd64. The flags match `make build`, so the go build cache
// is shared with it.
func buildBinary(ctx context.Context, repoRoot, version, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version,
		"-o", out, "./experiment")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./experiment in %s: %w\n%s", repoRoot, err, bytes.TrimSpace(output))
	}
	return nil
}

// entry is one file or directory of a layer; owner is both uid and gid.
type entry struct {
	name  string
	mode  int64
	dir   bool
	data  []byte
	owner int
}

// layer writes entries into an uncompressed tar and wraps it as an OCI layer (gzip-compressed on write).
func layer(mtime time.Time, entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: mtime,
			Uid:     e.owner,
			Gid:     e.owner,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
			h.Name = path.Clean(e.name) + "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// imageSize is what a registry stores and a node pulls: manifest, config and compressed layers.
func imageSize(img v1.Image) (compressed int64, err error) {
	manifest, err := img.RawManifest()
	if err != nil {
		return 0, fmt.Errorf("manifest: %w", err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return 0, fmt.Errorf("config: %w", err)
	}
	compressed = int64(len(manifest) + len(config))
	layers, err := img.Layers()
	if err != nil {
		return 0, fmt.Errorf("layers: %w", err)
	}
	for _, l := range layers {
		size, err := l.Size()
		if err != nil {
			return 0, fmt.Errorf("layer size: %w", err)
		}
		compressed += size
	}
	return compressed, nil
}

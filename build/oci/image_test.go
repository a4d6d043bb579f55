package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	// emulatedBase is the base whose files buildImage lays down itself; a Dockerfile on another base needs
	// buildImage changed too.
	emulatedBase = "gcr.io/distroless/static-debian12:nonroot"
	// testVersion is unusual enough to be found verbatim in the binary.
	testVersion = "0.0.0-ocitest.7"
	// buildLimit bounds the cross-build; with a warm build cache it is a link of a few seconds.
	buildLimit = 10 * time.Minute
)

func TestImageMatchesDockerfile(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := findRepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	df := finalStage(t, filepath.Join(root, "Dockerfile"), map[string]string{"VERSION": testVersion})
	if df.From != emulatedBase {
		t.Fatalf("the Dockerfile's final stage is FROM %s; buildImage emulates %s: change both together", df.From, emulatedBase)
	}
	if len(df.Others) > 0 {
		t.Fatalf("the final stage has instructions this test does not compare: %v", df.Others)
	}

	ctx, cancel := context.WithTimeout(context.Background(), buildLimit)
	defer cancel()
	started := time.Now()
	built, err := buildImage(ctx, Options{
		RepoRoot: root, Version: testVersion, CACerts: "/etc/ssl/certs/ca-certificates.crt",
		Created: time.Unix(0, 0).UTC(), WorkDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built in %s", time.Since(started).Round(time.Millisecond))
	ref := imageRepo + ":" + testVersion
	layoutDir, tarPath, err := write(built, t.TempDir(), ref)
	if err != nil {
		t.Fatal(err)
	}
	// Everything below reads what was written, not the in-memory image.
	img := readLayout(t, layoutDir)

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform = %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"entrypoint", cf.Config.Entrypoint, df.Entrypoint},
		{"cmd", cf.Config.Cmd, df.Cmd},
		{"user", cf.Config.User, df.User},
		{"labels", cf.Config.Labels, df.Labels},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: image has %q, Dockerfile has %q", c.what, c.got, c.want)
		}
	}
	if cf.Config.User != imageUser || !reflect.DeepEqual(cf.Config.Entrypoint, entrypoint) {
		t.Errorf("user %q entrypoint %q: the fault must run %s as %s", cf.Config.User, cf.Config.Entrypoint, binaryPath, imageUser)
	}

	files := flatten(t, img)
	for _, c := range df.Copies {
		for _, src := range c.Sources {
			dest := c.Dest
			if strings.HasSuffix(dest, "/") {
				dest += filepath.Base(src)
			}
			if f, ok := files[dest]; !ok || f.header.Typeflag != tar.TypeReg {
				t.Errorf("COPY %s %s: no regular file %s in the image", src, c.Dest, dest)
			}
		}
	}
	// What distroless provides and the fault relies on.
	requireFile(t, files, binaryPath, 0o755, 0)
	requireFile(t, files, "/etc/passwd", 0o644, 0)
	requireFile(t, files, "/etc/group", 0o644, 0)
	requireFile(t, files, caCertsPath, 0o644, 0)
	requireDir(t, files, "/tmp", 0o1777, 0)
	requireDir(t, files, nonrootHome, 0o700, nonrootID)
	if !strings.Contains(string(files["/etc/passwd"].data), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user 65532:\n%s", files["/etc/passwd"].data)
	}
	if !bytes.Contains(files[caCertsPath].data, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Errorf("%s holds no PEM certificate", caCertsPath)
	}
	checkStaticBinary(t, files[binaryPath].data)

	// The tarball holds the same image: same config, hence same entrypoint, labels and layer diff IDs.
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(tarPath, &tag)
	if err != nil {
		t.Fatalf("read tarball: %v", err)
	}
	if got, want := configName(t, fromTar), configName(t, img); got != want {
		t.Errorf("tarball config %s, layout config %s", got, want)
	}

	size, err := imageSize(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image size: %d bytes compressed (%.1f MiB), binary %d bytes", size, float64(size)/(1<<20), len(files[binaryPath].data))
}

func readLayout(t *testing.T, dir string) v1.Image {
	t.Helper()
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("read layout: %v", err)
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != 1 {
		t.Fatalf("layout holds %d manifests, want 1", len(manifest.Manifests))
	}
	desc := manifest.Manifests[0]
	if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != "amd64" {
		t.Errorf("layout descriptor platform = %v, want linux/amd64", desc.Platform)
	}
	img, err := index.Image(desc.Digest)
	if err != nil {
		t.Fatalf("image %s: %v", desc.Digest, err)
	}
	return img
}

type file struct {
	header *tar.Header
	data   []byte
}

// flatten reads the image's filesystem, keyed by absolute path (directories without their trailing slash).
func flatten(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("read image filesystem: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read %s: %v", h.Name, err)
		}
		files["/"+strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = file{header: h, data: data}
	}
}

func requireFile(t *testing.T, files map[string]file, path string, mode int64, owner int) {
	t.Helper()
	requireEntry(t, files, path, tar.TypeReg, mode, owner)
}

func requireDir(t *testing.T, files map[string]file, path string, mode int64, owner int) {
	t.Helper()
	requireEntry(t, files, path, tar.TypeDir, mode, owner)
}

func requireEntry(t *testing.T, files map[string]file, path string, kind byte, mode int64, owner int) {
	t.Helper()
	f, ok := files[path]
	switch {
	case !ok:
		t.Errorf("%s is missing from the image", path)
	case f.header.Typeflag != kind:
		t.Errorf("%s has type %q, want %q", path, f.header.Typeflag, kind)
	case f.header.Mode != mode:
		t.Errorf("%s has mode %o, want %o", path, f.header.Mode, mode)
	case f.header.Uid != owner || f.header.Gid != owner:
		t.Errorf("%s is owned by %d:%d, want %d:%d", path, f.header.Uid, f.header.Gid, owner, owner)
	}
}

// checkStaticBinary asserts what a scratch-like base needs: an x86-64 ELF with no dynamic loader, stamped with
// the version.
func checkStaticBinary(t *testing.T, data []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", binaryPath, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("%s is built for %s, want x86-64", binaryPath, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader: not static (CGO_ENABLED=0 missing?)", binaryPath)
		}
	}
	if !bytes.Contains(data, []byte(testVersion)) {
		t.Errorf("%s does not carry version %s (-X main.version)", binaryPath, testVersion)
	}
}

func configName(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The build stage copies only some folders of the repository; every package the binary is built from must
// be inside one of them, or `docker build` fails where this test would have passed.
func TestDockerfileCopiesEverySourceOfTheBinary(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := findRepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseStages(string(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	var copied []string
	for _, s := range stages {
		if s.Name != "build" {
			continue
		}
		for _, c := range s.Copies {
			if c.From == "" {
				copied = append(copied, c.Sources...)
			}
		}
	}
	if len(copied) == 0 {
		t.Fatal("no COPY from the build context in the stage named build")
	}

	ctx, cancel := context.WithTimeout(context.Background(), buildLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./experiment")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./experiment: %v", err)
	}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a module dependency, downloaded by `go mod download`
		}
		if !covered(filepath.ToSlash(rel), copied) {
			t.Errorf("./experiment depends on %s, which the Dockerfile's build stage does not copy (it copies %v)", rel, copied)
		}
	}
}

func covered(rel string, copied []string) bool {
	for _, src := range copied {
		src = strings.TrimSuffix(strings.TrimPrefix(src, "./"), "/")
		if src == "." || rel == src || strings.HasPrefix(rel, src+"/") {
			return true
		}
	}
	return false
}

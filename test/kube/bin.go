package kube

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// binaries are what build.sh produces and a cluster runs.
var binaries = []string{"kube-apiserver", "etcd", "kubectl"}

// ErrNoBinaries means the apiserver binaries have not been built on this
// machine; its message carries the command that builds them.
var ErrNoBinaries = errors.New("kube binaries not built")

// BinDir returns the folder holding kube-apiserver, etcd and kubectl:
// EnvBinDir when set, else the per-machine cache folder build.sh fills, named
// after the versions pinned in test/kube/tools/go.mod.
func BinDir() (string, error) {
	dir := os.Getenv(EnvBinDir)
	root, rootErr := moduleRoot()
	if dir == "" {
		if rootErr != nil {
			return "", rootErr
		}
		var err error
		if dir, err = cacheBinDir(root); err != nil {
			return "", err
		}
	}
	for _, b := range binaries {
		if info, err := os.Stat(filepath.Join(dir, b)); err != nil || info.IsDir() {
			build := "test/kube/build.sh"
			if rootErr == nil {
				build = filepath.Join(root, build)
			}
			return "", fmt.Errorf("%w: %s missing in %s; build them once per machine (10+ minutes) with: %s",
				ErrNoBinaries, b, dir, build)
		}
	}
	return dir, nil
}

// cacheBinDir mirrors build.sh: the cache folder changes with the versions.
func cacheBinDir(root string) (string, error) {
	modPath := filepath.Join(root, "test", "kube", "tools", "go.mod")
	versions, err := requiredVersions(modPath, "k8s.io/kubernetes", "go.etcd.io/etcd/server/v3")
	if err != nil {
		return "", err
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the cache folder: %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	name := fmt.Sprintf("kube-%s-etcd-%s", versions[0], versions[1])
	return filepath.Join(cache, "ecschaos", name, "bin"), nil
}

// requiredVersions reads the versions of modules from a go.mod's require
// lines (both the block and the one-line form).
func requiredVersions(modPath string, modules ...string) ([]string, error) {
	f, err := os.Open(modPath)
	if err != nil {
		return nil, fmt.Errorf("read tools module: %w", err)
	}
	defer f.Close()
	found := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(scanner.Text()), "require "))
		if len(fields) >= 2 {
			if _, seen := found[fields[0]]; !seen {
				found[fields[0]] = fields[1]
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", modPath, err)
	}
	versions := make([]string, len(modules))
	for i, m := range modules {
		v, ok := found[m]
		if !ok || !strings.HasPrefix(v, "v") {
			return nil, fmt.Errorf("%s does not require %s", modPath, m)
		}
		versions[i] = v
	}
	return versions, nil
}

// moduleRoot finds the product module's root from the working directory,
// which go test sets to the package being tested.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && firstModuleLine(string(data)) == "module "+mainModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find module root: no go.mod for %s above the working directory", mainModule)
		}
		dir = parent
	}
}

func firstModuleLine(gomod string) string {
	for _, line := range strings.Split(gomod, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "module ") {
			return strings.Join(strings.Fields(line), " ")
		}
	}
	return ""
}

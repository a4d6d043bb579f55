// Command buildlitmus builds chaos-operator, chaos-runner and chaos-exporter from bare git mirrors of their
// GitHub repositories for `make litmus-e2e`, unchanged but for `replace` directives: the
// github.com/litmuschaos/* modules they import are not served by the Go module proxy, so each is replaced by
// the mirror's tree at the commit the importing go.mod pins (the pseudo-version's commit suffix), taking the
// newest pin when several trees pin the same module, as minimal version selection would.
//
// LITMUS_SRC is the folder holding litmuschaos+<name>/repo for chaos-operator, chaos-runner, chaos-exporter,
// elves and litmus-go. Binaries are cached per commit under LITMUS_CACHE (default ~/.cache/litmus-e2e); the
// folder holding the three is printed on stdout.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

const litmusPrefix = "github.com/litmuschaos/"

// mainPackage is where each repository's main package is.
var mainPackage = map[string]string{"chaos-operator": ".", "chaos-runner": "./bin", "chaos-exporter": "./cmd/exporter"}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	out, err := run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildlitmus:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

func run(ctx context.Context) (string, error) {
	src := os.Getenv("LITMUS_SRC")
	if src == "" {
		return "", fmt.Errorf("set LITMUS_SRC to the folder holding litmuschaos+<name>/repo (bare git mirrors of chaos-operator, chaos-runner, chaos-exporter, elves, litmus-go)")
	}
	cache := os.Getenv("LITMUS_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache", "litmus-e2e")
	}
	b := &builder{src: src}
	var commits []string
	bins := map[string]string{}
	for _, name := range []string{"chaos-operator", "chaos-runner", "chaos-exporter"} {
		commit, err := b.git(ctx, name, "rev-parse", "HEAD")
		if err != nil {
			return "", err
		}
		bin := filepath.Join(cache, name+"-"+commit[:12], name)
		if _, err := os.Stat(bin); err != nil {
			fmt.Fprintf(os.Stderr, "buildlitmus: building %s at %s\n", name, commit[:12])
			if err := b.build(ctx, name, commit, bin); err != nil {
				return "", fmt.Errorf("%s: %w", name, err)
			}
		}
		bins[name] = bin
		commits = append(commits, commit[:12])
	}
	// One folder with the three, as LITMUS_BIN takes them.
	dir := filepath.Join(cache, "bin-"+strings.Join(commits, "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, bin := range bins {
		link := filepath.Join(dir, name)
		_ = os.Remove(link)
		if err := os.Symlink(bin, link); err != nil {
			return "", err
		}
	}
	return dir, nil
}

type builder struct{ src string }

func (b *builder) gitDir(repo string) string {
	return filepath.Join(b.src, "litmuschaos+"+repo, "repo")
}

func (b *builder) git(ctx context.Context, repo string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", append([]string{"--git-dir", b.gitDir(repo)}, args...)...).Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w", strings.Join(args, " "), b.gitDir(repo), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// extract writes the tree of repo at rev into dir.
func (b *builder) extract(ctx context.Context, repo, rev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", `git --git-dir "$1" archive "$2" | tar -x -C "$3"`, "sh", b.gitDir(repo), rev, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("extract %s@%s: %w: %s", repo, rev, err, out)
	}
	return nil
}

var pseudoCommit = regexp.MustCompile(`-([0-9a-f]{12})$`)

type pin struct{ version, rev, dir string }

// litmusRequires returns the litmuschaos modules a tree's go.mod requires: short name -> version and revision.
func litmusRequires(ctx context.Context, tree string) (map[string]pin, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "edit", "-json")
	cmd.Dir = tree
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod edit -json in %s: %w", tree, err)
	}
	var mod struct {
		Require []struct{ Path, Version string }
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, err
	}
	pins := map[string]pin{}
	for _, r := range mod.Require {
		if !strings.HasPrefix(r.Path, litmusPrefix) {
			continue
		}
		rev := r.Version
		if m := pseudoCommit.FindStringSubmatch(r.Version); m != nil {
			rev = m[1]
		}
		pins[strings.TrimPrefix(r.Path, litmusPrefix)] = pin{version: r.Version, rev: rev}
	}
	return pins, nil
}

func (b *builder) build(ctx context.Context, name, commit, bin string) error {
	work, err := os.MkdirTemp("/var/tmp", "buildlitmus-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	tree := filepath.Join(work, name)
	if err := b.extract(ctx, name, commit, tree); err != nil {
		return err
	}
	chosen := map[string]pin{}
	queue := []string{tree}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		pins, err := litmusRequires(ctx, next)
		if err != nil {
			return err
		}
		for dep, p := range pins {
			// A pseudo-version sorts by its timestamp: the newest pin wins.
			if old, ok := chosen[dep]; dep == name || (ok && old.version >= p.version) {
				continue
			}
			p.dir = filepath.Join(work, "dep-"+dep+"-"+p.rev)
			if _, err := os.Stat(p.dir); err != nil {
				if err := b.extract(ctx, dep, p.rev, p.dir); err != nil {
					return err
				}
			}
			chosen[dep] = p
			queue = append(queue, p.dir)
		}
	}
	env := append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	goCmd := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = tree, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tailOf(out))
		}
		return nil
	}
	if len(chosen) > 0 {
		args := []string{"mod", "edit"}
		for dep, p := range chosen {
			args = append(args, "-replace="+litmusPrefix+dep+"="+p.dir)
		}
		if err := goCmd(args...); err != nil {
			return err
		}
	}
	if err := goCmd("mod", "tidy"); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	if err := goCmd("build", "-trimpath", "-o", bin+".part", mainPackage[name]); err != nil {
		return err
	}
	return os.Rename(bin+".part", bin)
}

func tailOf(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

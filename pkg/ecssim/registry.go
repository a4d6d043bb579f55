package ecssim

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/distribution/reference"
)

// The simulator's image registry and ECS's image resolution.
//
// Container image resolution ("software version consistency"),
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html#deployment-container-image-stability:
// ECS resolves the image tags of a task definition to digests once per service deployment, from the first
// task the scheduler starts in it, and starts every other task of that deployment with those digests, so a
// tag moved meanwhile changes nothing for it; a later deployment resolves again. "If three or more attempts
// at establishing the container image digests fail, the deployment continues without image digest
// resolution. If the deployment circuit breaker is enabled, the deployment is additionally failed and
// rolled back." A container with versionConsistency "disabled" is resolved by each task
// (types.ContainerDefinition.VersionConsistency). A rollback returns to a service revision with the digests
// it ran (types.ContainerImage: "Amazon ECS uses the digest to start any other desired tasks, and for any
// future service and service revision updates").

// digestResolutionAttempts is how many tasks may fail to establish the digests before the deployment goes
// on without resolution (and fails when the circuit breaker is on).
const digestResolutionAttempts = 3

// registry holds which tags resolve to which digest and which digests exist.
type registry struct {
	tags    map[string]string // normalised repository:tag -> digest
	digests map[string]bool   // repository@digest that can be pulled
}

func newRegistry() *registry {
	return &registry{tags: map[string]string{}, digests: map[string]bool{}}
}

// splitImage parses a reference as a container runtime does (`nginx` is docker.io/library/nginx:latest)
// into its repository and either its tag or its digest.
func splitImage(ref string) (repo, tag, digest string, ok bool) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", "", "", false
	}
	repo = named.Name()
	if d, isDigested := named.(reference.Digested); isDigested {
		return repo, "", d.Digest().String(), true
	}
	tag = "latest"
	if t, isTagged := named.(reference.Tagged); isTagged {
		tag = t.Tag()
	}
	return repo, tag, "", true
}

// resolve returns the digest a reference names now, or "" when the registry cannot serve it.
func (r *registry) resolve(ref string) string {
	repo, tag, digest, ok := splitImage(ref)
	switch {
	case !ok:
		return ""
	case digest != "":
		if r.digests[repo+"@"+digest] {
			return digest
		}
		return ""
	}
	d := r.tags[repo+":"+tag]
	if d == "" || !r.digests[repo+"@"+d] {
		return ""
	}
	return d
}

// exists reports whether the image of ref's repository with that digest can still be pulled.
func (r *registry) exists(ref, digest string) bool {
	repo, _, _, ok := splitImage(ref)
	return ok && r.digests[repo+"@"+digest]
}

// pinnedRef is the reference a task pulls for a container resolved to digest.
func pinnedRef(ref, digest string) string {
	repo, _, _, ok := splitImage(ref)
	if !ok || digest == "" {
		return ref
	}
	return repo + "@" + digest
}

// AddImage makes ref pullable: its tag resolves to digest (derived from the reference when empty), or, for
// a digested reference, that digest exists. Tasks whose containers use it start and report the digest as
// imageDigest.
func (s *Simulator) AddImage(ref, digest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addImageLocked(ref, digest)
}

func (s *Simulator) addImageLocked(ref, digest string) {
	repo, tag, refDigest, ok := splitImage(ref)
	if !ok {
		return
	}
	if refDigest != "" {
		s.reg.digests[repo+"@"+refDigest] = true
		return
	}
	if digest == "" {
		digest = fmt.Sprintf("sha256:%064x", hashString(ref))
	}
	s.reg.tags[repo+":"+tag] = digest
	s.reg.digests[repo+"@"+digest] = true
}

// MoveTag points an existing or new tag at another digest, which becomes pullable, as a push of a new
// image under the same tag does. Deployments that already resolved the tag keep their digest.
func (s *Simulator) MoveTag(ref, digest string) error {
	_, tag, refDigest, ok := splitImage(ref)
	if !ok || refDigest != "" || tag == "" {
		return fmt.Errorf("ecssim: MoveTag needs a tagged reference, got %q", ref)
	}
	if !strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64 {
		return fmt.Errorf("ecssim: MoveTag needs a sha256 digest (sha256: and 64 hex digits), got %q", digest)
	}
	s.AddImage(ref, digest)
	return nil
}

// DeleteTag removes a tag; the digest it named stays pullable by digest.
func (s *Simulator) DeleteTag(ref string) {
	repo, tag, _, ok := splitImage(ref)
	if !ok || tag == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.reg.tags, repo+":"+tag)
}

// DeleteDigest removes an image from a repository, as a lifecycle policy does: tasks pinned to it no
// longer pull, and tags that named it no longer resolve.
func (s *Simulator) DeleteDigest(ref, digest string) {
	repo, _, _, ok := splitImage(ref)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.reg.digests, repo+"@"+digest)
	for k, d := range s.reg.tags {
		if d == digest && strings.HasPrefix(k, repo+":") {
			delete(s.reg.tags, k)
		}
	}
}

// ImageDigest returns the digest ref resolves to now, or "" when it does not resolve.
func (s *Simulator) ImageDigest(ref string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reg.resolve(ref)
}

// pullMessage is the reason ECS reports for an image that cannot be pulled, after the timing's pull attempts.
func (s *Simulator) pullMessage(ref string) string {
	return fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried %d time(s): failed to resolve ref %s: not found", s.timing.PullAttempts, normaliseImage(ref))
}

// containerPull decides, for container i of task t at its pull, which digest it runs or why it cannot:
// a digest the deployment established, the tag resolved by this task (establishing it for the deployment
// when version consistency applies), or a pull error.
func (s *Simulator) containerPull(t *task, i int) (digest, failure string) {
	image := aws.ToString(t.containers[i].Image)
	var rev *serviceRevision
	if t.dep != nil {
		rev = t.dep.rev
	}
	consistent := rev != nil && !t.dep.unresolved && versionConsistent(t.td, aws.ToString(t.containers[i].Name), image)
	if consistent {
		if pinned := rev.digest(aws.ToString(t.containers[i].Name)); pinned != "" {
			if s.reg.exists(image, pinned) {
				return pinned, ""
			}
			return "", s.pullMessage(pinnedRef(image, pinned))
		}
	}
	if d := s.reg.resolve(image); d != "" {
		return d, ""
	}
	return "", s.pullMessage(image)
}

// pullPlan decides the pull of every container of t: their digests, or nil with the reason of each
// container that cannot be pulled.
func (s *Simulator) pullPlan(t *task) (digests, failures []string) {
	digests = make([]string, len(t.containers))
	failures = make([]string, len(t.containers))
	failed := false
	for i := range t.containers {
		digests[i], failures[i] = s.containerPull(t, i)
		failed = failed || failures[i] != ""
	}
	if failed {
		return nil, failures
	}
	return digests, nil
}

// establish records, for a task that pulled its images, the digests its deployment resolved.
func (s *Simulator) establish(t *task) {
	if t.dep == nil || t.dep.rev == nil || t.dep.unresolved {
		return
	}
	for i := range t.containers {
		name, image := aws.ToString(t.containers[i].Name), aws.ToString(t.containers[i].Image)
		if i < len(t.pulled) && versionConsistent(t.td, name, image) {
			t.dep.rev.establish(name, t.pulled[i])
		}
	}
}

// resolutionFailed counts a task that could not establish its deployment's digests. After
// digestResolutionAttempts the deployment goes on without resolution and, with the circuit breaker on, fails.
func (s *Simulator) resolutionFailed(t *task) {
	dep := t.dep
	if dep == nil || t.svc == nil || len(t.svc.deployments) == 0 || t.svc.deployments[0] != dep || dep.rev == nil || dep.unresolved || dep.rev.resolved() || !dep.rev.needsResolution(t.td) {
		return
	}
	dep.resolveFailures++
	if dep.resolveFailures < digestResolutionAttempts {
		return
	}
	dep.unresolved = true
	if cb := t.svc.cfg.DeploymentCircuitBreaker; cb != nil && cb.Enable {
		s.failDeployment(t.svc, dep, "ECS deployment circuit breaker: tasks failed to start.", "tasks failed to start")
	}
}

// versionConsistent reports whether ECS pins the image of a container: a tag (a digest is already
// pinned) on a container whose versionConsistency is not "disabled".
func versionConsistent(td *types.TaskDefinition, container, image string) bool {
	if _, _, digest, ok := splitImage(image); !ok || digest != "" {
		return false
	}
	if td == nil {
		return true
	}
	for _, cd := range td.ContainerDefinitions {
		if aws.ToString(cd.Name) == container {
			return cd.VersionConsistency != types.VersionConsistencyDisabled
		}
	}
	return true
}

package taskdef

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

const (
	// chaosTagPrefix starts the tag given to an untagged IMAGE; no registry publishes it, so the pull fails.
	chaosTagPrefix = "chaos-invalid-"
	// maxTagLength is the container reference grammar's limit on a tag.
	maxTagLength = 128
	// maxImageLength is ECS's limit on a container definition's image.
	maxImageLength = 255
)

// ChaosImage is the image the fault puts into the target containers.
type ChaosImage struct {
	// Reference is the image as it goes into the task definition, in the user's spelling ("nginx:...", never
	// "docker.io/library/nginx:...").
	Reference string
	// Pinned is true when the user gave a tag or a digest: the reference is used as given and may well pull,
	// in which case the fault does not take effect. The caller warns about it.
	Pinned bool
}

// ErrInvalidImage is wrapped by every error ResolveChaosImage returns for a bad reference.
var ErrInvalidImage = errors.New("invalid container image reference")

// ResolveChaosImage applies the IMAGE rule. raw is parsed with the container reference grammar (so
// registry:5000/app is a repository on a registry with a port, not a tag). A reference without tag or digest
// gets the tag chaos-invalid-<runID>, which no registry has, so that the default "nginx" fails to pull as the
// product page promises; runID is reduced to the characters a tag allows. A tagged or digested reference is
// used as given and marked Pinned.
func ResolveChaosImage(raw, runID string) (ChaosImage, error) {
	if raw == "" {
		return ChaosImage{}, fmt.Errorf("%w: the image is empty", ErrInvalidImage)
	}
	named, err := reference.ParseNormalizedNamed(raw)
	if err != nil {
		return ChaosImage{}, fmt.Errorf("%w %q: %v (expected forms: nginx, registry:5000/team/app, app:1.25, "+
			"app@sha256:<64 hex digits>; repository names are lowercase)", ErrInvalidImage, raw, err)
	}
	_, tagged := named.(reference.Tagged)
	_, digested := named.(reference.Digested)
	if tagged || digested {
		if len(raw) > maxImageLength {
			return ChaosImage{}, fmt.Errorf("%w %q: ECS accepts at most %d characters", ErrInvalidImage, raw, maxImageLength)
		}
		return ChaosImage{Reference: raw, Pinned: true}, nil
	}
	tag, err := chaosTag(runID)
	if err != nil {
		return ChaosImage{}, err
	}
	ref := raw + ":" + tag
	if len(ref) > maxImageLength {
		return ChaosImage{}, fmt.Errorf("%w %q: with the chaos tag %q it exceeds ECS's %d characters; give a shorter "+
			"image or one with a tag", ErrInvalidImage, raw, tag, maxImageLength)
	}
	return ChaosImage{Reference: ref}, nil
}

// chaosTag builds chaos-invalid-<runID> within the tag grammar [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: characters a
// tag cannot hold become '-', and the run id is cut to fit. The prefix supplies the valid first character.
func chaosTag(runID string) (string, error) {
	if runID == "" {
		return "", errors.New("the run id is empty: it names the chaos image's tag")
	}
	var b strings.Builder
	b.WriteString(chaosTagPrefix)
	for _, r := range runID {
		if b.Len() == maxTagLength {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String(), nil
}

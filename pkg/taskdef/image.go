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

// ErrInvalidImage is wrapped by every error ParseImage and ForRun return for a bad reference.
var ErrInvalidImage = errors.New("invalid container image reference")

// Image is a parsed IMAGE value: parse it once with ParseImage, then ForRun gives each run its chaos image.
type Image struct {
	raw    string
	pinned bool
}

// ParseImage applies the IMAGE rule's grammar. raw is parsed with the container reference grammar (so
// registry:5000/app is a repository on a registry with a port, not a tag). A tagged or digested reference is used
// as given and marked Pinned; it must fit ECS's 255 characters.
func ParseImage(raw string) (Image, error) {
	if raw == "" {
		return Image{}, fmt.Errorf("%w: the image is empty", ErrInvalidImage)
	}
	named, err := reference.ParseNormalizedNamed(raw)
	if err != nil {
		return Image{}, fmt.Errorf("%w %q: %w (expected forms: nginx, registry:5000/team/app, app:1.25, "+
			"app@sha256:<64 hex digits>; repository names are lowercase)", ErrInvalidImage, raw, err)
	}
	_, tagged := named.(reference.Tagged)
	_, digested := named.(reference.Digested)
	img := Image{raw: raw, pinned: tagged || digested}
	if img.pinned && len(raw) > maxImageLength {
		return Image{}, fmt.Errorf("%w %q: ECS accepts at most %d characters", ErrInvalidImage, raw, maxImageLength)
	}
	return img, nil
}

// String is the image as the user wrote it.
func (i Image) String() string { return i.raw }

// ForRun is the chaos image of run runID. A reference without tag or digest gets the tag chaos-invalid-<runID>,
// which no registry has, so that the default "nginx" fails to pull as the product page promises; runID is reduced
// to the characters a tag allows. A pinned reference is used as given.
func (i Image) ForRun(runID string) (ChaosImage, error) {
	if i.raw == "" {
		return ChaosImage{}, fmt.Errorf("%w: the image is empty", ErrInvalidImage)
	}
	if i.pinned {
		return ChaosImage{Reference: i.raw, Pinned: true}, nil
	}
	tag, err := chaosTag(runID)
	if err != nil {
		return ChaosImage{}, err
	}
	ref := i.raw + ":" + tag
	if len(ref) > maxImageLength {
		return ChaosImage{}, fmt.Errorf("%w %q: with the chaos tag %q it exceeds ECS's %d characters; give a shorter "+
			"image or one with a tag", ErrInvalidImage, i.raw, tag, maxImageLength)
	}
	return ChaosImage{Reference: ref}, nil
}

// ResolveChaosImage is ParseImage then ForRun, for callers that have the raw value and the run id at once.
func ResolveChaosImage(raw, runID string) (ChaosImage, error) {
	img, err := ParseImage(raw)
	if err != nil {
		return ChaosImage{}, err
	}
	return img.ForRun(runID)
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

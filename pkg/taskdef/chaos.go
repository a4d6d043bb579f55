package taskdef

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// UnknownContainerError is a TARGET_CONTAINERS name the task definition does not have: bad input, nothing
// changed.
type UnknownContainerError struct {
	Name  string
	Known []string
}

func (e *UnknownContainerError) Error() string {
	return fmt.Sprintf("container %q is not in the task definition; its containers are %s",
		e.Name, strings.Join(quoteAll(e.Known), ", "))
}

// ErrAlreadyChaos is returned by Chaos for a task definition that is itself a chaos revision.
var ErrAlreadyChaos = errors.New("the task definition is already a chaos revision")

// Chaos builds the chaos revision of td: RegisterInput(td, tags) with image.Reference in the target containers
// (every container when targets is empty), the marker m as labels on each swapped container, and the marker
// tags after the customer's tags. m's empty OriginalTaskDefinitionARN, OriginalRevision and ChaosImage are
// taken from td and image; given ones must agree with them. td is never modified.
//
// The warnings name the tags left out to respect ECS's tag rules: the customer's tags keep their place and the
// marker tags are dropped first, since the labels carry the marker anyway.
func Chaos(td *types.TaskDefinition, tags []types.Tag, image ChaosImage, targets []string, m Marker) (
	*ecs.RegisterTaskDefinitionInput, []string, error) {
	if err := checkCopyable(td, image); err != nil {
		return nil, nil, err
	}
	m, err := markerFor(td, image, m)
	if err != nil {
		return nil, nil, err
	}
	swap, err := targetSet(td.ContainerDefinitions, targets)
	if err != nil {
		return nil, nil, err
	}
	in := RegisterInput(td, nil)
	swapImages(in.ContainerDefinitions, swap, image.Reference, m.labels())
	kept, warnings := withMarkerTags(tags, m)
	in.Tags = kept
	return in, warnings, nil
}

// checkCopyable refuses to build a chaos revision that restore could not undo faithfully: from a chaos revision
// (its original is the one to go back to) or from a task definition with settings this build cannot copy.
func checkCopyable(td *types.TaskDefinition, image ChaosImage) error {
	if td == nil {
		return errors.New("no task definition to copy")
	}
	if image.Reference == "" {
		return errors.New("the chaos image is empty")
	}
	if _, already, err := ReadMarker(td); err != nil {
		return fmt.Errorf("refusing to copy %s: %w", deref(td.TaskDefinitionArn), err)
	} else if already {
		return fmt.Errorf("%w (%s); run recover first", ErrAlreadyChaos, deref(td.TaskDefinitionArn))
	}
	if path := unknownUnionMember(reflect.ValueOf(td).Elem(), "taskDefinition"); path != "" {
		return fmt.Errorf("%s holds a setting this build's AWS SDK does not know, so a copy would lose it; "+
			"a newer build of the fault is needed", path)
	}
	return nil
}

// swapImages points the containers named in swap at image and labels each of them with the marker labels, which
// is how recover later recognises the revision.
func swapImages(containers []types.ContainerDefinition, swap map[string]bool, image string, labels map[string]string) {
	for i := range containers {
		c := &containers[i]
		if !swap[deref(c.Name)] {
			continue
		}
		c.Image = aws.String(image)
		if c.DockerLabels == nil {
			c.DockerLabels = map[string]string{}
		}
		// Marker labels copied from elsewhere (a pipeline copying a chaos revision) must not mix with this
		// run's: an optional one such as the services list would otherwise survive into the marker.
		for k := range c.DockerLabels {
			if strings.HasPrefix(k, labelPrefix) {
				delete(c.DockerLabels, k)
			}
		}
		for k, v := range labels {
			c.DockerLabels[k] = v
		}
	}
}

// withMarkerTags returns the customer's tags that may be copied followed by the marker tags, and a warning for
// each tag left out: the customer's tags keep their place, and a marker tag goes first when ECS's rules leave no
// room for it, since the labels carry the marker anyway.
func withMarkerTags(tags []types.Tag, m Marker) ([]types.Tag, []string) {
	kept, warnings := copyableTags(tags)
	for _, t := range []types.Tag{
		{Key: aws.String(TagRunID), Value: aws.String(m.RunID)},
		{Key: aws.String(TagOriginalRevision), Value: aws.String(strconv.FormatInt(int64(m.OriginalRevision), 10))},
	} {
		switch problem := tagProblem(*t.Key, *t.Value); {
		case problem != "":
			warnings = append(warnings, fmt.Sprintf("marker tag %q left out: %s (the labels still carry the marker)", *t.Key, problem))
		case len(kept) >= maxTags:
			warnings = append(warnings, fmt.Sprintf("marker tag %q left out: the original's %d tags fill ECS's limit "+
				"of %d (the labels still carry the marker)", *t.Key, len(kept), maxTags))
		default:
			kept = append(kept, t)
		}
	}
	return kept, warnings
}

// markerFor completes m from td and image and checks that they agree.
func markerFor(td *types.TaskDefinition, image ChaosImage, m Marker) (Marker, error) {
	if m.ChaosImage == "" {
		m.ChaosImage = image.Reference
	}
	if m.OriginalTaskDefinitionARN == "" {
		m.OriginalTaskDefinitionARN = deref(td.TaskDefinitionArn)
	}
	if m.OriginalRevision == 0 {
		m.OriginalRevision = td.Revision
	}
	switch {
	case m.ChaosImage != image.Reference:
		return Marker{}, fmt.Errorf("marker chaos image %q differs from the image swapped in, %q", m.ChaosImage, image.Reference)
	case td.TaskDefinitionArn != nil && m.OriginalTaskDefinitionARN != *td.TaskDefinitionArn:
		return Marker{}, fmt.Errorf("marker original task definition %q differs from the one copied, %q",
			m.OriginalTaskDefinitionARN, *td.TaskDefinitionArn)
	case td.Revision != 0 && m.OriginalRevision != td.Revision:
		return Marker{}, fmt.Errorf("marker original revision %d differs from the one copied, %d", m.OriginalRevision, td.Revision)
	}
	m, err := m.normalized()
	if err != nil {
		return Marker{}, fmt.Errorf("invalid chaos marker: %w", err)
	}
	return m, nil
}

// targetSet returns the names of the containers whose image is swapped.
func targetSet(containers []types.ContainerDefinition, targets []string) (map[string]bool, error) {
	known := make([]string, 0, len(containers))
	for _, c := range containers {
		known = append(known, deref(c.Name))
	}
	if len(known) == 0 {
		return nil, errors.New("the task definition has no containers")
	}
	if len(targets) == 0 {
		targets = known
	}
	set := make(map[string]bool, len(targets))
	for _, t := range targets {
		if !slices.Contains(known, t) {
			return nil, &UnknownContainerError{Name: t, Known: known}
		}
		set[t] = true
	}
	return set, nil
}

func quoteAll(names []string) []string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return q
}

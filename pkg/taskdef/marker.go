package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Docker label keys of the marker; see the package documentation.
const (
	LabelRunID                   = "io.ecschaos.run-id"
	LabelOriginalTaskDefinition  = "io.ecschaos.original-task-definition"
	LabelOriginalRevision        = "io.ecschaos.original-revision"
	LabelDeploymentConfiguration = "io.ecschaos.deployment-configuration"
	LabelChaosImage              = "io.ecschaos.chaos-image"
	LabelServices                = "io.ecschaos.services"
	LabelMarkerVersion           = "io.ecschaos.marker-version"
	LabelJobUID                  = "io.ecschaos.job-uid"
)

// MarkerVersion is the version of the marker this binary writes. Version 1 (no version label) had no Job uid;
// version 2 adds it. ReadMarker reads every version up to this one, so a newer binary recovers an older run.
const MarkerVersion = 2

// ErrNewerMarker is wrapped by ReadMarker's error for a marker written by a newer binary than this one: its
// fields may mean something this binary does not know, so recover must not act on it.
var ErrNewerMarker = errors.New("chaos marker written by a newer version")

// Tag keys of the marker; see the package documentation.
const (
	TagRunID            = "ecschaos:run-id"
	TagOriginalRevision = "ecschaos:original-revision"
)

// labelPrefix is what all marker labels share; a container with any such label is checked as a marker.
const labelPrefix = "io.ecschaos."

// ErrCorruptMarker is wrapped by ReadMarker's errors: the task definition carries marker labels on a container
// running the chaos image, but they cannot be read. Recover cannot trust such a revision; a person has to look.
var ErrCorruptMarker = errors.New("corrupt chaos marker")

// Marker records what restore needs, inside the chaos revision itself, so that `recover` can undo a run that
// was killed outright from AWS state alone.
type Marker struct {
	RunID string
	// OriginalTaskDefinitionARN is the service's task definition revision ARN at preflight.
	OriginalTaskDefinitionARN string
	// OriginalRevision is that revision's number; the family is the chaos revision's own.
	OriginalRevision int32
	// DeploymentConfiguration is the service's whole deploymentConfiguration at preflight as a JSON object.
	// Chaos stores it compacted (insignificant white space removed), and ReadMarker returns it that way.
	DeploymentConfiguration string
	// ChaosImage is the image the fault swapped in (ChaosImage.Reference).
	ChaosImage string
	// Services optionally lists the ARNs of the services the run targets; empty means "not recorded".
	Services []string
	// JobUID is the uid of the Kubernetes Job whose pod registered the revision (empty outside a Job, and in
	// version 1 markers). A retried pod of the same Job recognises its predecessor's revision by it.
	JobUID string
	// Version is the marker's format version; ReadMarker fills it, Chaos always writes MarkerVersion.
	Version int
}

// normalized checks m and returns it in the form it is stored and read back in.
func (m Marker) normalized() (Marker, error) {
	var problems []string
	if m.RunID == "" {
		problems = append(problems, "run id is empty")
	}
	if m.OriginalTaskDefinitionARN == "" {
		problems = append(problems, "original task definition ARN is empty")
	}
	if m.OriginalRevision <= 0 {
		problems = append(problems, fmt.Sprintf("original revision %d is not positive", m.OriginalRevision))
	}
	if m.ChaosImage == "" {
		problems = append(problems, "chaos image is empty")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(m.DeploymentConfiguration)); err != nil {
		problems = append(problems, fmt.Sprintf("deployment configuration is not JSON: %v", err))
	} else if !bytes.HasPrefix(compact.Bytes(), []byte("{")) {
		problems = append(problems, "deployment configuration is not a JSON object")
	}
	for _, s := range m.Services {
		if s == "" {
			problems = append(problems, "a service ARN is empty")
			break
		}
	}
	if len(problems) > 0 {
		return Marker{}, errors.New(strings.Join(problems, "; "))
	}
	m.DeploymentConfiguration = compact.String()
	if m.Version == 0 {
		m.Version = MarkerVersion
	}
	if len(m.Services) == 0 {
		m.Services = nil
	} else {
		m.Services = append([]string(nil), m.Services...)
	}
	return m, nil
}

// labels returns the Docker labels that store a normalized m.
func (m Marker) labels() map[string]string {
	l := map[string]string{
		LabelRunID:                   m.RunID,
		LabelOriginalTaskDefinition:  m.OriginalTaskDefinitionARN,
		LabelOriginalRevision:        strconv.FormatInt(int64(m.OriginalRevision), 10),
		LabelDeploymentConfiguration: m.DeploymentConfiguration,
		LabelChaosImage:              m.ChaosImage,
		LabelMarkerVersion:           strconv.Itoa(MarkerVersion),
	}
	if m.JobUID != "" {
		l[LabelJobUID] = m.JobUID
	}
	if len(m.Services) > 0 {
		// A JSON array cannot be misread whatever the ARNs hold, unlike a separator.
		services, _ := json.Marshal(m.Services) // []string always marshals
		l[LabelServices] = string(services)
	}
	return l
}

// markerFromLabels reads a marker written by labels.
func markerFromLabels(l map[string]string) (Marker, error) {
	m := Marker{
		RunID:                     l[LabelRunID],
		OriginalTaskDefinitionARN: l[LabelOriginalTaskDefinition],
		DeploymentConfiguration:   l[LabelDeploymentConfiguration],
		ChaosImage:                l[LabelChaosImage],
		JobUID:                    l[LabelJobUID],
		Version:                   1,
	}
	if v, ok := l[LabelMarkerVersion]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			return Marker{}, fmt.Errorf("label %s: %q is not a marker version (2 or more)", LabelMarkerVersion, v)
		}
		if n > MarkerVersion {
			return Marker{}, fmt.Errorf("%w: version %d, this binary reads up to %d: use a newer image to recover", ErrNewerMarker, n, MarkerVersion)
		}
		m.Version = n
	}
	rev, err := strconv.ParseInt(l[LabelOriginalRevision], 10, 32)
	if err != nil {
		return Marker{}, fmt.Errorf("label %s: %q is not a revision number", LabelOriginalRevision, l[LabelOriginalRevision])
	}
	m.OriginalRevision = int32(rev)
	if s, ok := l[LabelServices]; ok {
		if err := json.Unmarshal([]byte(s), &m.Services); err != nil {
			return Marker{}, fmt.Errorf("label %s is not a JSON array of strings: %v", LabelServices, err)
		}
	}
	return m.normalized()
}

// ReadMarker finds the marker in td's container labels. It reports true only when a container carries the
// marker labels and runs the image they name: labels copied by a pipeline into a revision with a real image
// are not a marker. Every container that does carry a marker must carry the same one. The error wraps
// ErrCorruptMarker and names the container, never a label's value beyond the marker's own fields.
func ReadMarker(td *types.TaskDefinition) (Marker, bool, error) {
	if td == nil {
		return Marker{}, false, nil
	}
	var (
		found Marker
		from  string
		seen  bool
	)
	for _, c := range td.ContainerDefinitions {
		if !hasMarkerLabels(c.DockerLabels) {
			continue
		}
		name := deref(c.Name)
		chaosImage, ok := c.DockerLabels[LabelChaosImage]
		if !ok || c.DockerLabels[LabelRunID] == "" {
			return Marker{}, false, fmt.Errorf("%w: container %q has %s* labels without %s and %s",
				ErrCorruptMarker, name, labelPrefix, LabelRunID, LabelChaosImage)
		}
		if chaosImage != deref(c.Image) {
			continue
		}
		m, err := markerFromLabels(c.DockerLabels)
		if err != nil {
			return Marker{}, false, fmt.Errorf("%w: container %q: %w", ErrCorruptMarker, name, err)
		}
		if seen && !reflect.DeepEqual(m, found) {
			return Marker{}, false, fmt.Errorf("%w: containers %q and %q carry different markers", ErrCorruptMarker, from, name)
		}
		found, from, seen = m, name, true
	}
	return found, seen, nil
}

func hasMarkerLabels(labels map[string]string) bool {
	for k := range labels {
		if strings.HasPrefix(k, labelPrefix) {
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

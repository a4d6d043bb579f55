package ecssim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

type family struct {
	name      string
	revisions []*types.TaskDefinition // revision n at index n-1
}

var familyPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// resolveTaskDefinition finds a revision by family (newest ACTIVE), family:revision or ARN.
func (s *Simulator) resolveTaskDefinition(ref string) *types.TaskDefinition {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		_, after, ok := strings.Cut(ref, ":task-definition/")
		if !ok {
			return nil
		}
		name = after
	}
	fam, revText, hasRev := strings.Cut(name, ":")
	f := s.families[fam]
	if f == nil {
		return nil
	}
	if !hasRev {
		for i := len(f.revisions) - 1; i >= 0; i-- {
			if f.revisions[i].Status == types.TaskDefinitionStatusActive {
				return f.revisions[i]
			}
		}
		return nil
	}
	rev, err := strconv.Atoi(revText)
	if err != nil || rev < 1 || rev > len(f.revisions) {
		return nil
	}
	return f.revisions[rev-1]
}

type registerRequest struct {
	Tags json.RawMessage `json:"tags"`
}

// registerTaskDefinition stores the next revision of a family once the body passed ECS's checks; a caller
// without ecs:TagResource (denyTags) who sends tags is refused and nothing is stored.
func (s *Simulator) registerTaskDefinition(body []byte) (smithy.Serializable, string, *APIError) {
	td, tags, e := s.decodeRegistration(body)
	if e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	famName := aws.ToString(td.Family)
	f := s.families[famName]
	if f == nil {
		f = &family{name: famName}
	}
	rev := int32(len(f.revisions) + 1)
	arn := s.arn(fmt.Sprintf("task-definition/%s:%d", famName, rev))
	if len(tags) > 0 && s.denyTags {
		return nil, "", &APIError{Code: "AccessDeniedException", Message: fmt.Sprintf(
			"User: arn:aws:sts::%s:assumed-role/chaos-runner/session is not authorized to perform: ecs:TagResource on resource: %s because no identity-based policy allows the ecs:TagResource action",
			s.acct, arn)}
	}
	s.families[famName] = f
	s.setOutputMembers(&td, arn, rev)
	f.revisions = append(f.revisions, &td)
	if len(tags) > 0 {
		s.tags[arn] = tags
	}
	stored := td
	out := &ecs.RegisterTaskDefinitionOutput{TaskDefinition: &stored, Tags: tags}
	return out, registrationSummary(arn, &td, tags), nil
}

// decodeRegistration reads a RegisterTaskDefinition body and rejects what ECS rejects before anything is stored.
func (s *Simulator) decodeRegistration(body []byte) (types.TaskDefinition, []types.Tag, *APIError) {
	// The input shares its member names with TaskDefinition, so the SDK's own type holds every field the
	// caller sent (ports, secrets, health checks...) and DescribeTaskDefinition returns them unchanged.
	var td types.TaskDefinition
	if err := s.codec.decode(body, &td); err != nil {
		return td, nil, &APIError{Code: "SerializationException", Message: err.Error()}
	}
	var plain registerRequest
	if e := decodeJSON(body, &plain); e != nil {
		return td, nil, e
	}
	tags, e := s.decodeTags(plain.Tags)
	if e != nil {
		return td, nil, e
	}
	famName := aws.ToString(td.Family)
	if !familyPattern.MatchString(famName) {
		return td, nil, clientErr("Family contains invalid characters or is too long: %q. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.", famName)
	}
	if e := validateContainers(td.ContainerDefinitions); e != nil {
		return td, nil, e
	}
	if e := validateTags(tags); e != nil {
		return td, nil, e
	}
	return td, tags, nil
}

// validateContainers applies ECS's checks on the container list: at least one container, each with a name
// and an image, and no name twice.
func validateContainers(containers []types.ContainerDefinition) *APIError {
	if len(containers) == 0 {
		return clientErr("Container list cannot be empty.")
	}
	seen := map[string]bool{}
	for _, c := range containers {
		name := aws.ToString(c.Name)
		if name == "" {
			return clientErr("Container.name should not be null or empty.")
		}
		if aws.ToString(c.Image) == "" {
			return clientErr("Container.image should not be null or empty.")
		}
		if seen[name] {
			return clientErr("Duplicate container names are not allowed: %s.", name)
		}
		seen[name] = true
	}
	return nil
}

// setOutputMembers sets the members that are the service's to set, whatever the body contained, for a new
// ACTIVE revision rev at arn.
func (s *Simulator) setOutputMembers(td *types.TaskDefinition, arn string, rev int32) {
	td.TaskDefinitionArn = aws.String(arn)
	td.Revision = rev
	td.Status = types.TaskDefinitionStatusActive
	now := s.now
	td.RegisteredAt = &now
	td.RegisteredBy = aws.String(fmt.Sprintf("arn:aws:iam::%s:root", s.acct))
	td.DeregisteredAt = nil
	td.DeleteRequestedAt = nil
	td.RequiresAttributes = nil
	td.Compatibilities = []types.Compatibility{types.CompatibilityEc2}
	for _, c := range td.RequiresCompatibilities {
		if c == types.CompatibilityFargate {
			td.Compatibilities = append(td.Compatibilities, types.CompatibilityFargate)
		}
	}
}

// registrationSummary is the request log's line for a registration: the ARN, each container's image and the
// number of tags.
func registrationSummary(arn string, td *types.TaskDefinition, tags []types.Tag) string {
	images := make([]string, 0, len(td.ContainerDefinitions))
	for _, c := range td.ContainerDefinitions {
		images = append(images, aws.ToString(c.Name)+"="+aws.ToString(c.Image))
	}
	return fmt.Sprintf("%s images=%s tags=%d", arn, strings.Join(images, ","), len(tags))
}

type describeTaskDefinitionRequest struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
}

func includes(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Simulator) describeTaskDefinition(body []byte) (smithy.Serializable, string, *APIError) {
	var in describeTaskDefinitionRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	td := s.resolveTaskDefinition(in.TaskDefinition)
	if td == nil {
		return nil, "", clientErr("Unable to describe task definition.")
	}
	cp := *td // encoded after the lock is released
	out := &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &cp}
	if includes(in.Include, "TAGS") {
		out.Tags = append([]types.Tag{}, s.tags[aws.ToString(td.TaskDefinitionArn)]...)
	}
	return out, "", nil
}

func (s *Simulator) deregisterTaskDefinition(body []byte) (smithy.Serializable, string, *APIError) {
	var in describeTaskDefinitionRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	name := in.TaskDefinition
	if strings.HasPrefix(name, "arn:") {
		_, name, _ = strings.Cut(name, ":task-definition/")
	}
	if !strings.Contains(name, ":") {
		return nil, "", clientErr("Revision is required: deregister needs family:revision or the full ARN.")
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	td := s.resolveTaskDefinition(in.TaskDefinition)
	if td == nil {
		return nil, "", clientErr("The specified task definition does not exist.")
	}
	if td.Status == types.TaskDefinitionStatusActive {
		td.Status = types.TaskDefinitionStatusInactive
		now := s.now
		td.DeregisteredAt = &now
	}
	cp := *td
	return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: &cp}, aws.ToString(td.TaskDefinitionArn), nil
}

type listRequest struct {
	FamilyPrefix string `json:"familyPrefix"`
	Status       string `json:"status"`
	Sort         string `json:"sort"`
	NextToken    string `json:"nextToken"`
	MaxResults   *int   `json:"maxResults"`
}

// page cuts items to one page; the token is the offset of the next item, opaque to callers.
func page(items []string, token string, maxResults *int, defaultMax int) ([]string, *string, *APIError) {
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return nil, nil, invalidParam("Invalid nextToken.")
		}
		start = n
	}
	limit := defaultMax
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return nil, nil, invalidParam("maxResults must be between 1 and 100.")
		}
		limit = *maxResults
	}
	end := min(start+limit, len(items))
	var next *string
	if end < len(items) {
		next = aws.String(base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
	}
	return items[start:end], next, nil
}

func (s *Simulator) listTaskDefinitions(body []byte) (smithy.Serializable, string, *APIError) {
	var in listRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	status := types.TaskDefinitionStatus(in.Status)
	if status == "" {
		status = types.TaskDefinitionStatusActive
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.families))
	for name := range s.families {
		// familyPrefix is the full family name on this operation, despite its name.
		if in.FamilyPrefix == "" || name == in.FamilyPrefix {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var arns []string
	for _, name := range names {
		for _, td := range s.families[name].revisions {
			if td.Status == status {
				arns = append(arns, aws.ToString(td.TaskDefinitionArn))
			}
		}
	}
	if strings.EqualFold(in.Sort, "DESC") {
		for i, j := 0, len(arns)-1; i < j; i, j = i+1, j-1 {
			arns[i], arns[j] = arns[j], arns[i]
		}
	}
	got, next, e := page(arns, in.NextToken, in.MaxResults, 100)
	if e != nil {
		return nil, "", e
	}
	return &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: got, NextToken: next}, "", nil
}

func (s *Simulator) listTaskDefinitionFamilies(body []byte) (smithy.Serializable, string, *APIError) {
	var in listRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	status := in.Status
	if status == "" {
		status = "ACTIVE"
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	var names []string
	for name, f := range s.families {
		if !strings.HasPrefix(name, in.FamilyPrefix) {
			continue
		}
		active := false
		for _, td := range f.revisions {
			active = active || td.Status == types.TaskDefinitionStatusActive
		}
		if status == "ALL" || (status == "ACTIVE") == active {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	got, next, e := page(names, in.NextToken, in.MaxResults, 100)
	if e != nil {
		return nil, "", e
	}
	return &ecs.ListTaskDefinitionFamiliesOutput{Families: got, NextToken: next}, "", nil
}

package ecssim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

// tagChars is ECS's allowed character set for tag keys and values (letters, digits, spaces, + - = . _ : / @).
var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

const maxTags = 50

type wireTag struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

func (s *Simulator) decodeTags(raw json.RawMessage) ([]types.Tag, *APIError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var wire []wireTag
	if err := json.Unmarshal(raw, &wire); err != nil {
		return nil, &APIError{Code: "SerializationException", Message: err.Error()}
	}
	tags := make([]types.Tag, 0, len(wire))
	for _, w := range wire {
		tags = append(tags, types.Tag{Key: w.Key, Value: w.Value})
	}
	return tags, nil
}

// validateTags applies ECS's tag rules. An empty list is accepted: the API model allows zero tags.
func validateTags(tags []types.Tag) *APIError {
	if len(tags) > maxTags {
		return invalidParam("Too many tags: %d. A resource can have at most %d tags.", len(tags), maxTags)
	}
	for _, t := range tags {
		key, value := aws.ToString(t.Key), aws.ToString(t.Value)
		switch {
		case key == "" || len([]rune(key)) > 128:
			return invalidParam("Tag key %q must be 1 to 128 characters long.", key)
		case len([]rune(value)) > 256:
			return invalidParam("Tag value for key %q must be at most 256 characters long.", key)
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			return invalidParam("Tag keys beginning with 'aws:' are reserved for AWS use: %q.", key)
		case !tagChars.MatchString(key) || !tagChars.MatchString(value):
			return invalidParam("Tag %q contains characters outside letters, digits, spaces and + - = . _ : / @.", key)
		}
	}
	return nil
}

// resourceExists reports whether arn names a cluster, service, task definition or task. Caller holds s.mu.
func (s *Simulator) resourceExists(arn string) bool {
	for _, c := range s.clusters {
		if c.arn == arn {
			return true
		}
		for _, svc := range c.services {
			if svc.arn == arn && svc.status != "INACTIVE" {
				return true
			}
		}
		for _, t := range c.tasks {
			if t.arn == arn {
				return true
			}
		}
	}
	if strings.Contains(arn, ":task-definition/") {
		return s.resolveTaskDefinition(arn) != nil
	}
	return false
}

type tagRequest struct {
	ResourceArn string          `json:"resourceArn"`
	Tags        json.RawMessage `json:"tags"`
	TagKeys     []string        `json:"tagKeys"`
}

func (s *Simulator) tagResource(body []byte) (smithy.Serializable, string, *APIError) {
	var in tagRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	add, e := s.decodeTags(in.Tags)
	if e != nil {
		return nil, "", e
	}
	if e := validateTags(add); e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	if !s.resourceExists(in.ResourceArn) {
		return nil, "", invalidParam("The specified resource could not be found: %s.", in.ResourceArn)
	}
	merged := append([]types.Tag{}, s.tags[in.ResourceArn]...)
	for _, t := range add {
		replaced := false
		for i := range merged {
			if aws.ToString(merged[i].Key) == aws.ToString(t.Key) {
				merged[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			merged = append(merged, t)
		}
	}
	if e := validateTags(merged); e != nil {
		return nil, "", e
	}
	s.tags[in.ResourceArn] = merged
	return &ecs.TagResourceOutput{}, fmt.Sprintf("%s +%d tags", in.ResourceArn, len(add)), nil
}

func (s *Simulator) untagResource(body []byte) (smithy.Serializable, string, *APIError) {
	var in tagRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	if !s.resourceExists(in.ResourceArn) {
		return nil, "", invalidParam("The specified resource could not be found: %s.", in.ResourceArn)
	}
	var kept []types.Tag
	for _, t := range s.tags[in.ResourceArn] {
		if !includes(in.TagKeys, aws.ToString(t.Key)) {
			kept = append(kept, t)
		}
	}
	s.tags[in.ResourceArn] = kept
	return &ecs.UntagResourceOutput{}, fmt.Sprintf("%s -%s", in.ResourceArn, strings.Join(in.TagKeys, ",")), nil
}

func (s *Simulator) listTagsForResource(body []byte) (smithy.Serializable, string, *APIError) {
	var in tagRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	if !s.resourceExists(in.ResourceArn) {
		return nil, "", invalidParam("The specified resource could not be found: %s.", in.ResourceArn)
	}
	return &ecs.ListTagsForResourceOutput{Tags: append([]types.Tag{}, s.tags[in.ResourceArn]...)}, "", nil
}

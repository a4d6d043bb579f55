package taskdef

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// ECS's tag rules (the Tag shape of the ECS API reference).
const (
	maxTags           = 50
	maxTagKeyLength   = 128
	maxTagValueLength = 256
	reservedTagPrefix = "aws:"
	tagPunctuation    = "+-=._:/@"
)

// copyableTags returns the tags that can be given to RegisterTaskDefinition, in their original order, and one
// warning per tag left out. aws: tags are AWS-managed: ECS applies them itself and refuses them from callers.
// The marker's own keys are left out too: a copy found on the original is stale, and Chaos writes this run's.
func copyableTags(tags []types.Tag) ([]types.Tag, []string) {
	var (
		kept     []types.Tag
		warnings []string
	)
	for _, t := range tags {
		key := deref(t.Key)
		if key == TagRunID || key == TagOriginalRevision {
			warnings = append(warnings, fmt.Sprintf("tag %q not copied to the chaos revision: "+
				"it is a marker key left over from an earlier run and is replaced by this run's", key))
			continue
		}
		if problem := tagProblem(key, deref(t.Value)); problem != "" {
			warnings = append(warnings, fmt.Sprintf("tag %q not copied to the chaos revision: %s", key, problem))
			continue
		}
		if len(kept) == maxTags {
			warnings = append(warnings, fmt.Sprintf("tag %q not copied to the chaos revision: ECS allows %d tags", key, maxTags))
			continue
		}
		kept = append(kept, deepCopy(t))
	}
	return kept, warnings
}

// tagProblem says why ECS would refuse a tag, or returns "" when it would accept it. Lengths count Unicode
// characters, as ECS does. Values are never quoted: a tag value can be anything the customer chose.
func tagProblem(key, value string) string {
	switch {
	case strings.HasPrefix(strings.ToLower(key), reservedTagPrefix):
		return "the aws: prefix is reserved for tags AWS manages"
	case strings.HasPrefix(strings.ToLower(value), reservedTagPrefix):
		return "its value starts with the reserved aws: prefix"
	case key == "":
		return "the key is empty"
	case utf8.RuneCountInString(key) > maxTagKeyLength:
		return fmt.Sprintf("the key is longer than %d characters", maxTagKeyLength)
	case utf8.RuneCountInString(value) > maxTagValueLength:
		return fmt.Sprintf("the value is longer than %d characters", maxTagValueLength)
	case !validTagText(key):
		return "the key has characters other than letters, digits, spaces and " + tagPunctuation
	case !validTagText(value):
		return "the value has characters other than letters, digits, spaces and " + tagPunctuation
	}
	return ""
}

func validTagText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Z, r) && !strings.ContainsRune(tagPunctuation, r) {
			return false
		}
	}
	return true
}

// IsTagPermissionError reports whether err is RegisterTaskDefinition refusing the tags for lack of
// ecs:TagResource, which the product page's IAM policy does not grant: the caller then registers WithoutTags
// and warns, naming the permission.
func IsTagPermissionError(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		return false
	}
	msg := strings.ToLower(apiErr.ErrorMessage())
	return strings.Contains(msg, "tagresource") || strings.Contains(msg, "tagging")
}

package tunables

import (
	"strings"
)

// credentialsFile checks the file mounted from AWS_AUTHENTICATION_SECRET well enough to catch the usual
// mistakes (secret not mounted, wrong key, wrong format, wrong profile) before any AWS call. It is lenient on
// purpose: the SDK's loader has the final word on the selected profile, so any profile shape the SDK can use
// (static keys, role_arn with a source, credential_process, SSO, login) passes here. Messages name the secret and
// the path, never anything read from the file.
func (l *loader) credentialsFile(secret, path, profile string) {
	where := "the credentials file from secret " + quote(secret) + " at " + quote(path)
	info, err := l.files.Stat(path)
	if err != nil {
		l.problems.add(envAuthenticationSecret, where+" cannot be opened ("+fileErrorInWords(err)+"); mount the secret there or set AWS_SHARED_CREDENTIALS_FILE", ruleCredentialsFile)
		return
	}
	if info.IsDir() {
		l.problems.add(envAuthenticationSecret, where+" is a directory; mount the secret's key as a file (subPath) or point AWS_SHARED_CREDENTIALS_FILE at the file inside it", ruleCredentialsFile)
		return
	}
	data, err := l.files.ReadFile(path)
	if err != nil {
		l.problems.add(envAuthenticationSecret, where+" cannot be read ("+fileErrorInWords(err)+")", ruleCredentialsFile)
		return
	}
	if strings.TrimSpace(string(data)) == "" {
		l.problems.add(envAuthenticationSecret, where+" is empty", ruleCredentialsFile)
		return
	}
	profiles, hidden, ok := parseProfiles(string(data))
	selected, byName := profile, "the selected profile"
	if selected == "" {
		selected, byName = "default", "the default profile"
	}
	keys, found := profiles[selected]
	switch {
	case ok && hidden != "" && (hidden == selected && !found || !anyUsable(profiles)):
		l.problems.add(envAuthenticationSecret, where+" starts with a UTF-8 byte-order mark, which hides its first profile header from the AWS SDK (the keys under it belong to no profile); save the file as UTF-8 without a byte-order mark", ruleCredentialsFile)
		return
	case !ok || !anyUsable(profiles):
		l.problems.add(envAuthenticationSecret, where+" is not an AWS credentials file", ruleCredentialsFile)
		return
	}
	switch {
	case !found && profile == "":
		l.problems.add(envProfile, "is not set and "+where+" has no [default] profile", ruleProfile)
	case !found:
		l.problems.add(envProfile, "names a profile that is not in "+where, ruleProfile)
	case !usable(keys):
		// The SDK would silently fall back to the instance or container role: refuse instead.
		l.problems.add(envProfile, byName+" in "+where+" holds no credentials", ruleProfile)
	}
}

// utf8BOM is the byte-order mark some Windows editors put at the start of a UTF-8 file.
const utf8BOM = "\ufeff"

// parseProfiles reads the profile sections of a credentials file and the keys each holds (names only; values
// are dropped as soon as they are seen). It reports false when the text is not INI at all.
//
// A file that starts with a UTF-8 byte-order mark is read as the SDK reads it: the SDK's ini tokenizer
// (aws-sdk-go-v2 config/internal/ini/tokenize.go) trims only ASCII white space, so the first line, BOM and all,
// is neither a section header nor a property and is skipped; when it was a header, the keys under it belong to
// no profile until the next header. hidden names the section whose header the BOM hid that way.
func parseProfiles(text string) (profiles map[string]map[string]bool, hidden string, ok bool) {
	profiles = map[string]map[string]bool{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if first, bom := strings.CutPrefix(lines[0], utf8BOM); bom {
		if trimmed := strings.TrimSpace(first); strings.HasPrefix(trimmed, "[") {
			if end := strings.IndexByte(trimmed, ']'); end > 0 {
				hidden = strings.TrimSpace(trimmed[1:end])
			}
		}
		lines = lines[1:]
	}
	var current map[string]bool
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';':
		case trimmed[0] == '[':
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return nil, hidden, false
			}
			name := strings.TrimSpace(trimmed[1:end])
			// The SDK ignores "[profile x]" and "[sso-session x]" sections in a credentials file: they are not
			// profiles here.
			if name == "" || strings.ContainsAny(name, " \t") {
				current = nil
				continue
			}
			if profiles[name] == nil {
				profiles[name] = map[string]bool{}
			}
			current = profiles[name]
		case line[0] == ' ' || line[0] == '\t':
			// Continuation of a nested value such as "s3 =\n  max_concurrent_requests = 10".
		default:
			eq := strings.IndexByte(trimmed, '=')
			if eq <= 0 {
				return nil, hidden, false
			}
			if current != nil && strings.TrimSpace(trimmed[eq+1:]) != "" {
				current[strings.ToLower(strings.TrimSpace(trimmed[:eq]))] = true
			}
		}
	}
	return profiles, hidden, true
}

// usable reports whether a profile's keys give the SDK a way to obtain credentials without falling through to
// the instance or container role.
func usable(keys map[string]bool) bool {
	switch {
	case keys["aws_access_key_id"] && keys["aws_secret_access_key"]:
		return true
	case keys["role_arn"] && (keys["source_profile"] || keys["credential_source"] || keys["web_identity_token_file"]):
		return true
	case keys["credential_process"], keys["sso_session"], keys["sso_start_url"], keys["login_session"]:
		return true
	}
	return false
}

func anyUsable(profiles map[string]map[string]bool) bool {
	for _, keys := range profiles {
		if usable(keys) {
			return true
		}
	}
	return false
}

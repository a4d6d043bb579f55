// Package tunables turns the fault's environment variables and its mounted credentials file into one
// validated Config, reporting every problem at once before anything talks to AWS.
package tunables

import (
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Sequence says how several services are faulted.
type Sequence string

// The two sequences SEQUENCE accepts.
const (
	SequenceParallel Sequence = "parallel"
	SequenceSerial   Sequence = "serial"
)

// Config is the validated run configuration. Durations are whole seconds; lists are trimmed and de-duplicated.
type Config struct {
	ClusterName string
	Services    []string
	Region      string
	// Image is the raw IMAGE value; ImageRef is it parsed, once, as a container reference.
	Image    string
	ImageRef taskdef.Image
	// TargetContainers names the containers whose image is swapped; empty means all of them.
	TargetContainers []string
	AffectedPercent  int

	TotalChaosDuration     time.Duration
	ChaosInterval          time.Duration
	RampTime               time.Duration
	StatusCheckTimeout     time.Duration
	StatusCheckDelay       time.Duration
	TerminationGracePeriod time.Duration

	Sequence Sequence

	AssumeRoleARN        string
	AuthenticationSecret string
	// SharedCredentialsFile is where the mounted secret is read from when AuthenticationSecret is set,
	// otherwise AWS_SHARED_CREDENTIALS_FILE as given (possibly empty).
	SharedCredentialsFile string
	Profile               string

	ChaosEngine    string
	ChaosNamespace string
	ExperimentName string
	InstanceID     string
	ChaosUID       string
	PodName        string
	// ServiceAccount runs the source-mode cmdProbe pods, as Litmus's own faults do; empty: the namespace default.
	ServiceAccount string
	// JobUID is the uid of the Job running this pod (empty outside a Job); a retried pod of the same Job never
	// injects again.
	JobUID string

	ProbesFile string
	// ResultFile is empty when the result goes to stdout.
	ResultFile string
	// ReportFile, when set, is where the run writes its HTML report.
	ReportFile string
	// LogLevel is lower-case and accepted by logrus.ParseLevel.
	LogLevel  string
	LogFormat string

	// ExpectRollbackWithin is 0 when not set.
	ExpectRollbackWithin time.Duration
	// ExpectHealthyTasks is -1 when not set.
	ExpectHealthyTasks int
	ExpectAlarms       []string
}

// FileSystem is what Load needs to inspect the mounted credentials file and the probes file.
type FileSystem interface {
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
}

// OSFileSystem reads the real file system.
type OSFileSystem struct{}

// ReadFile reads the named file.
func (OSFileSystem) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Stat describes the named file.
func (OSFileSystem) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// maxNumber bounds every number, so durations and sums of a few of them stay far from time.Duration overflow.
const maxNumber = 1<<31 - 1

// The patterns leave length limits to limited(): bounded repetitions such as {1,255} compile into programs that
// cost milliseconds at every start of the pod (14 ms of its 50 ms of initialisation, measured in bench/).
var (
	resourceName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	clusterARN   = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):ecs:([^:]*):([0-9]{12}):cluster/([A-Za-z0-9_-]+)$`)
	// Services have an old ARN form without the cluster and a new one with it.
	serviceARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):ecs:([^:]*):([0-9]{12}):service/(?:([A-Za-z0-9_-]+)/)?([A-Za-z0-9_-]+)$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-[0-9]{1,2}$`)
	roleARN    = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/(?:([\x{21}-\x{7E}]+)/)?([A-Za-z0-9+=,.@_-]+)$`)
	secretName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	alarmName  = regexp.MustCompile(`^[^,\x00-\x1F\x7F]+$`)
	jobUID     = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

	anchoredDigest = regexp.MustCompile(`^(?:` + reference.DigestRegexp.String() + `)$`)
	anchoredTag    = regexp.MustCompile(`^[\w][\w.-]*$`) // reference.TagRegexp, with its 128-character limit in code
)

// Length limits of the names above, as ECS, IAM, Kubernetes, CloudWatch and the image reference grammar set them.
const (
	maxResourceName = 255
	maxRolePath     = 511
	maxRoleName     = 64
	maxSecretName   = 253
	maxAlarmName    = 255
	maxTag          = 128
	maxJobUID       = 64
)

// limited reports whether every one of parts is at most max bytes long.
func limited(max int, parts ...string) bool {
	for _, p := range parts {
		if len(p) > max {
			return false
		}
	}
	return true
}

// Load reads every tunable through lookup (os.LookupEnv in production) and, when a secret is configured, the
// mounted credentials file through files. A nil lookup or files means the real environment or file system.
// Every problem is returned in one *ValidationError, together with the Config as far as it is valid (a field
// whose variable is wrong holds its zero value or what could be read), so an Error result can still be recorded.
func Load(lookup func(string) (string, bool), files FileSystem) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if files == nil {
		files = OSFileSystem{}
	}
	l := loader{lookup: lookup, files: files}
	c := l.load()
	if len(l.problems) > 0 {
		// The valid part still tells where an Error result goes (engine, namespace, result file) and how to log.
		return c, &ValidationError{Problems: l.problems}
	}
	return c, nil
}

type loader struct {
	lookup   func(string) (string, bool)
	files    FileSystem
	problems problems
}

// get returns a variable trimmed of surrounding spaces; Litmus passes unset tunables as empty strings, so
// empty means "use the default".
func (l *loader) get(name string) string {
	v, _ := l.lookup(name)
	return strings.TrimSpace(v)
}

// load reads the tunables group by group, each group checking its values against each other; every problem is
// added to l.problems and reading goes on, so that one run reports them all. The groups run in the order the
// problems are listed.
func (l *loader) load() Config {
	c := Config{
		AssumeRoleARN:        l.get(envAssumeRoleARN),
		AuthenticationSecret: l.get(envAuthenticationSecret),
		Profile:              l.get(envProfile),
		ChaosEngine:          l.get(envChaosEngine),
		InstanceID:           l.get(envInstanceID),
		ChaosUID:             l.get(envChaosUID),
		PodName:              l.get(envPodName),
		ServiceAccount:       l.get(envChaosServiceAccount),
		ProbesFile:           l.get(envProbesFile),
		ResultFile:           l.get(envResultFile),
		ReportFile:           l.get(envReportFile),
	}
	l.target(&c)
	l.timing(&c)
	c.JobUID = l.jobUID()
	c.Sequence = l.sequence()
	l.credentials(&c)
	l.identity(&c)
	l.logging(&c)
	l.expectations(&c)
	return c
}

// target reads what is faulted: where (region, cluster), which services, with which image, in which containers.
// The cluster and services are checked against the region, so it comes first.
func (l *loader) target(c *Config) {
	c.Region = l.region()
	c.ClusterName = l.cluster(c.Region)
	c.Services = l.services(c.Region, c.ClusterName)
	c.Image, c.ImageRef = l.image()
	c.TargetContainers = l.list(envTargetContainers, ruleTargetContainers, "container name", resourceName, maxResourceName)
}

// timing reads how much is faulted and for how long: the share of tasks and the durations, checking those that
// bound each other.
func (l *loader) timing(c *Config) {
	c.AffectedPercent = l.integer(envAffectedPercent, 100, 0, 100, rulePercent)
	c.TotalChaosDuration = l.seconds(envTotalChaosDuration, 30, 1, rulePositiveSeconds)
	c.ChaosInterval = l.seconds(envChaosInterval, 30, 1, rulePositiveSeconds)
	c.RampTime = l.seconds(envRampTime, 0, 0, ruleSeconds)
	c.StatusCheckTimeout = l.seconds(envStatusCheckTimeout, 180, 1, rulePositiveSeconds)
	c.StatusCheckDelay = l.seconds(envStatusCheckDelay, 2, 1, ruleStatusCheckDelay)
	if c.StatusCheckDelay > 0 && c.StatusCheckTimeout > 0 && c.StatusCheckDelay >= c.StatusCheckTimeout {
		l.problems.add(envStatusCheckDelay, "is not less than STATUS_CHECK_TIMEOUT ("+
			c.StatusCheckDelay.String()+" >= "+c.StatusCheckTimeout.String()+")", ruleStatusCheckDelay)
	}
	c.TerminationGracePeriod = l.seconds(envTerminationGracePeriod, DefaultGracePeriodSeconds, 0, ruleGracePeriod)
	if c.TerminationGracePeriod == 0 && l.get(envTerminationGracePeriod) != "" {
		// chaos-runner passes "0" when the ChaosEngine leaves terminationGracePeriodSeconds unset; the pod then
		// gets Kubernetes' default (chaos-runner pkg/utils/environment.go, SetENV).
		c.TerminationGracePeriod = DefaultGracePeriodSeconds * time.Second
	}
}

// jobUID reads the uid of this pod's Job, which decides whether a retried pod may inject again; a malformed one
// is kept but reported.
func (l *loader) jobUID() string {
	v := l.get(envJobUID)
	if v != "" && (!jobUID.MatchString(v) || !limited(maxJobUID, v)) {
		l.problems.add(envJobUID, quote(v)+" is not a Kubernetes uid", ruleJobUID)
	}
	return v
}

// credentials checks how the fault reaches AWS: the role to assume and the mounted secret, whose credentials
// file is checked now so that the usual mistakes (secret not mounted, wrong profile) are reported before any AWS
// call.
func (l *loader) credentials(c *Config) {
	if m := roleARN.FindStringSubmatch(c.AssumeRoleARN); c.AssumeRoleARN != "" && (m == nil || !limited(maxRolePath, m[2]) || !limited(maxRoleName, m[3])) {
		l.problems.add(envAssumeRoleARN, "is not an IAM role ARN", ruleAssumeRoleARN)
	}
	c.SharedCredentialsFile = l.get(envSharedCredentialsFile)
	if c.AuthenticationSecret == "" {
		return
	}
	if !secretName.MatchString(c.AuthenticationSecret) || !limited(maxSecretName, c.AuthenticationSecret) {
		l.problems.add(envAuthenticationSecret, quote(c.AuthenticationSecret)+" is not a secret name", ruleSecretName)
	}
	if c.SharedCredentialsFile == "" {
		c.SharedCredentialsFile = DefaultSharedCredentialsFile
	}
	l.credentialsFile(c.AuthenticationSecret, c.SharedCredentialsFile, c.Profile)
}

// identity reads where the run's Kubernetes objects go (namespace, experiment name) and checks the names they are
// built from and the probes file up front, so that neither fails once the service has already been changed.
func (l *loader) identity(c *Config) {
	c.ChaosNamespace = l.namespace()
	c.ExperimentName = l.get(envExperimentName)
	if c.ExperimentName == "" {
		c.ExperimentName = DefaultExperimentName
	}
	l.objectNames(*c)
	l.probesFile(c.ProbesFile)
}

// logging reads the log level and format; they are lower-cased so that logrus and the formatter accept them.
func (l *loader) logging(c *Config) {
	c.LogLevel = strings.ToLower(l.get(envLogLevel))
	if c.LogLevel == "" {
		c.LogLevel = "info"
	} else if _, err := logrus.ParseLevel(c.LogLevel); err != nil {
		l.problems.add(envLogLevel, quote(l.get(envLogLevel))+" is not a log level", ruleLogLevel)
	}
	c.LogFormat = strings.ToLower(l.get(envLogFormat))
	switch c.LogFormat {
	case "":
		c.LogFormat = "text"
	case "text", "json":
	default:
		l.problems.add(envLogFormat, quote(l.get(envLogFormat))+" is not a log format", ruleLogFormat)
	}
}

// expectations reads the built-in expectations; a rollback is expected within one cycle's hold, so that is
// checked against the durations read before.
func (l *loader) expectations(c *Config) {
	c.ExpectRollbackWithin = l.seconds(envExpectRollbackWithin, 0, 1, ruleRollbackWithin)
	if hold := min(c.TotalChaosDuration, c.ChaosInterval); c.ExpectRollbackWithin > 0 && hold > 0 && c.ExpectRollbackWithin > hold {
		l.problems.add(envExpectRollbackWithin, "is longer than the hold of one cycle ("+
			c.ExpectRollbackWithin.String()+" > "+hold.String()+"), so a rollback could never be seen in time", ruleRollbackWithin)
	}
	c.ExpectHealthyTasks = l.integer(envExpectHealthyTasks, -1, 0, maxNumber, ruleHealthyTasks)
	c.ExpectAlarms = l.list(envExpectAlarms, ruleAlarms, "alarm name", alarmName, maxAlarmName)
}

// region applies REGION, else AWS_REGION, else AWS_DEFAULT_REGION; a problem names the variable the value came
// from, so it points at what the user actually set.
func (l *loader) region() string {
	for _, name := range []string{envRegion, envAWSRegion, envAWSDefaultRegion} {
		v := l.get(name)
		if v == "" {
			continue
		}
		if !regionName.MatchString(v) {
			l.problems.add(name, quote(v)+" is not an AWS region name", ruleRegion)
			return ""
		}
		return v
	}
	l.problems.add(envRegion, "is not set (nor AWS_REGION or AWS_DEFAULT_REGION)", ruleRegion)
	return ""
}

// partitionOf is the ARN partition that owns a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

// checkARNPlace reports an ARN whose region or partition does not match REGION; ECS would answer with a
// confusing "not found" otherwise.
func (l *loader) checkARNPlace(variable, arn, partition, arnRegion, region, allowed string) bool {
	if region == "" {
		return true // REGION already has its own problem
	}
	if arnRegion != region {
		l.problems.add(variable, quote(arn)+" is in region "+quote(arnRegion)+", not in REGION "+quote(region), allowed)
		return false
	}
	if partition != partitionOf(region) {
		l.problems.add(variable, quote(arn)+" has partition "+quote(partition)+", but region "+region+" belongs to "+partitionOf(region), allowed)
		return false
	}
	return true
}

func (l *loader) cluster(region string) string {
	v := l.get(envClusterName)
	switch {
	case v == "":
		l.problems.add(envClusterName, "is not set", ruleClusterName)
	case strings.HasPrefix(v, "arn:"):
		m := clusterARN.FindStringSubmatch(v)
		if m == nil || !limited(maxResourceName, m[4]) {
			l.problems.add(envClusterName, quote(v)+" is not an ECS cluster ARN", ruleClusterName)
			return ""
		}
		if !l.checkARNPlace(envClusterName, v, m[1], m[2], region, ruleClusterName) {
			return ""
		}
	case !resourceName.MatchString(v) || !limited(maxResourceName, v):
		l.problems.add(envClusterName, quote(v)+" is not a cluster name", ruleClusterName)
		return ""
	}
	return v
}

// clusterShortName is the bare name of a cluster given by name or ARN.
func clusterShortName(cluster string) string {
	if m := clusterARN.FindStringSubmatch(cluster); m != nil {
		return m[4]
	}
	return cluster
}

func (l *loader) services(region, cluster string) []string {
	raw := l.get(envServiceName)
	if raw == "" {
		l.problems.add(envServiceName, "is not set", ruleServiceName)
		return nil
	}
	items, listOK := l.splitList(envServiceName, raw, ruleServiceName)
	out := make([]string, 0, len(items))
	for _, s := range items {
		if !strings.HasPrefix(s, "arn:") {
			if !resourceName.MatchString(s) || !limited(maxResourceName, s) {
				l.problems.add(envServiceName, quote(s)+" is not a service name", ruleServiceName)
				continue
			}
			out = append(out, s)
			continue
		}
		m := serviceARN.FindStringSubmatch(s)
		if m == nil || !limited(maxResourceName, m[4], m[5]) {
			l.problems.add(envServiceName, quote(s)+" is not an ECS service ARN", ruleServiceName)
			continue
		}
		if !l.checkARNPlace(envServiceName, s, m[1], m[2], region, ruleServiceName) {
			continue
		}
		if m[4] != "" && cluster != "" && m[4] != clusterShortName(cluster) {
			l.problems.add(envServiceName, quote(s)+" belongs to cluster "+quote(m[4])+", not to CLUSTER_NAME "+quote(cluster), ruleServiceName)
			continue
		}
		out = append(out, s)
	}
	if !listOK || len(out) != len(items) {
		return nil
	}
	return out
}

// splitList splits a comma list, rejecting empty entries and duplicates (a duplicate service would be
// faulted twice at once and restored from the chaos revision).
func (l *loader) splitList(variable, raw, allowed string) ([]string, bool) {
	parts := strings.Split(raw, ",")
	seen := make(map[string]bool, len(parts))
	out := make([]string, 0, len(parts))
	ok := true
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			l.problems.add(variable, "entry "+strconv.Itoa(i+1)+" of "+quote(raw)+" is empty", allowed)
			ok = false
			continue
		}
		if seen[p] {
			l.problems.add(variable, quote(p)+" is listed twice", allowed)
			ok = false
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, ok
}

// list reads an optional comma list whose entries must each match pattern.
func (l *loader) list(variable, allowed, what string, pattern *regexp.Regexp, maxLen int) []string {
	raw := l.get(variable)
	if raw == "" {
		return nil
	}
	items, ok := l.splitList(variable, raw, allowed)
	for _, it := range items {
		if !pattern.MatchString(it) || !limited(maxLen, it) {
			l.problems.add(variable, quote(it)+" is not a valid "+what, allowed)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return items
}

func (l *loader) image() (string, taskdef.Image) {
	v := l.get(envImage)
	if v == "" {
		v = DefaultImage
	}
	img, err := taskdef.ParseImage(v)
	if err != nil {
		l.problems.add(envImage, quote(v)+" "+imageErrorInWords(v, grammarError(err)), ruleImage)
		return "", taskdef.Image{}
	}
	// The chaos tag of an untagged image must fit too; run ids have RunIDLength characters.
	if _, err := img.ForRun(strings.Repeat("0", RunIDLength)); err != nil {
		l.problems.add(envImage, quote(v)+" is too long: "+err.Error(), ruleImage)
		return "", taskdef.Image{}
	}
	return v, img
}

// grammarError is the reference grammar's own error inside ParseImage's, without the wording around it.
func grammarError(err error) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if !errors.Is(e, taskdef.ErrInvalidImage) {
				return e
			}
		}
	}
	return err
}

// imageErrorInWords turns the reference grammar's terse errors into what a user should change: it looks at the
// digest, the tag and the repository in turn, since the parser reports most mistakes as one "invalid format".
func imageErrorInWords(ref string, err error) string {
	const prefix = "is not an image reference: "
	name, digest, hasDigest := strings.Cut(ref, "@")
	if hasDigest && !anchoredDigest.MatchString(digest) {
		return prefix + "the digest must look like sha256:<64 lower-case hex digits>"
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		if !anchoredTag.MatchString(name[i+1:]) || !limited(maxTag, name[i+1:]) {
			return prefix + "the tag must be 1-128 letters, digits, _, . and -, not starting with . or -"
		}
		name = name[:i]
	}
	repository := name
	if domain, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(domain, ".:") || domain == "localhost") {
		repository = rest
	}
	switch {
	case errors.Is(err, reference.ErrNameTooLong):
		return prefix + "the repository name is longer than 255 characters"
	case strings.ToLower(repository) != repository:
		return prefix + "the repository name must be lower-case"
	case repository == "":
		return prefix + "the repository name is empty"
	}
	return prefix + "expected [registry[:port]/]repository[:tag][@digest] with a lower-case repository (" + err.Error() + ")"
}

// integer parses an optional whole number in [lo, hi]; missing means def.
func (l *loader) integer(variable string, def, lo, hi int, allowed string) int {
	raw := l.get(variable)
	if raw == "" {
		return def
	}
	if raw[0] == '+' || raw[0] == '-' {
		l.problems.add(variable, quote(raw)+" has a sign", allowed)
		return def
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < '0' || raw[i] > '9' {
			l.problems.add(variable, quote(raw)+" is not a whole number", allowed)
			return def
		}
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n > hi {
		l.problems.add(variable, quote(raw)+" is too large (at most "+strconv.Itoa(hi)+")", allowed)
		return def
	}
	if n < lo {
		l.problems.add(variable, quote(raw)+" is too small (at least "+strconv.Itoa(lo)+")", allowed)
		return def
	}
	return n
}

// seconds parses an optional whole number of seconds, at least lo; a bad value yields 0 so that checks
// relating it to other durations stay quiet instead of reporting a follow-on problem.
func (l *loader) seconds(variable string, def, lo int, allowed string) time.Duration {
	n := l.integer(variable, -1, lo, maxNumber, allowed)
	switch {
	case l.get(variable) == "":
		return time.Duration(def) * time.Second
	case n < 0:
		return 0
	}
	return time.Duration(n) * time.Second
}

func (l *loader) sequence() Sequence {
	raw := l.get(envSequence)
	switch Sequence(strings.ToLower(raw)) {
	case "", SequenceParallel:
		return SequenceParallel
	case SequenceSerial:
		return SequenceSerial
	}
	l.problems.add(envSequence, quote(raw)+" is not a sequence", ruleSequence)
	return ""
}

// namespace follows Litmus: CHAOS_NAMESPACE, else the pod's own namespace, else "default".
func (l *loader) namespace() string {
	variable := envChaosNamespace
	v := l.get(envChaosNamespace)
	if v == "" {
		variable, v = envPodNamespace, l.get(envPodNamespace)
	}
	if v == "" {
		return DefaultChaosNamespace
	}
	if len(validation.IsDNS1123Label(v)) > 0 {
		l.problems.add(variable, quote(v)+" is not a namespace name", ruleNamespace)
	}
	return v
}

// objectNames checks the names the ChaosResult and events are built from, so that the result can be written
// after the fault instead of failing once the service has already been changed.
func (l *loader) objectNames(c Config) {
	if c.ServiceAccount != "" && len(validation.IsDNS1123Subdomain(c.ServiceAccount)) > 0 {
		l.problems.add(envChaosServiceAccount, quote(c.ServiceAccount)+" is not a Kubernetes object name", ruleServiceAccount)
	}
	bad := false
	if c.ChaosEngine != "" && len(validation.IsDNS1123Subdomain(c.ChaosEngine)) > 0 {
		l.problems.add(envChaosEngine, quote(c.ChaosEngine)+" is not a Kubernetes object name", ruleObjectName)
		bad = true
	}
	if len(validation.IsDNS1123Subdomain(c.ExperimentName)) > 0 {
		l.problems.add(envExperimentName, quote(c.ExperimentName)+" is not a Kubernetes object name", ruleObjectName)
		bad = true
	}
	if bad {
		return
	}
	name := c.ExperimentName
	if c.ChaosEngine != "" {
		name = c.ChaosEngine + "-" + name
		if c.InstanceID != "" {
			name += "-" + c.InstanceID
		}
	}
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		variable := envInstanceID
		if c.InstanceID == "" {
			variable = envExperimentName
		}
		l.problems.add(variable, "makes the ChaosResult name "+quote(name)+" invalid", ruleResultName)
	}
}

func (l *loader) probesFile(path string) {
	if path == "" {
		return
	}
	info, err := l.files.Stat(path)
	switch {
	case err != nil:
		l.problems.add(envProbesFile, quote(path)+" cannot be opened ("+fileErrorInWords(err)+")", ruleProbesFile)
	case info.IsDir():
		l.problems.add(envProbesFile, quote(path)+" is a directory", ruleProbesFile)
	}
}

// fileErrorInWords names why a file could not be used without echoing anything it might contain.
func fileErrorInWords(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "it does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	default:
		return "unreadable"
	}
}

// Package taskdef turns a described ECS task definition into the RegisterTaskDefinition input for its chaos
// revision: a lossless copy of the original, the image swap on the target containers, and the marker that
// `recover` trusts to find a chaos revision from AWS state alone.
//
// # Marker namespace
//
// The marker is written as Docker labels on every swapped container. Labels need no IAM permission beyond
// ecs:RegisterTaskDefinition, so they are the source of truth:
//
//	io.ecschaos.run-id                    the run that registered the revision
//	io.ecschaos.original-task-definition  the service's task definition ARN at preflight
//	io.ecschaos.original-revision         its revision number (same family)
//	io.ecschaos.deployment-configuration  the service's deploymentConfiguration at preflight, compact JSON
//	io.ecschaos.chaos-image               the image the fault put in the container
//	io.ecschaos.services                  optional: JSON array of the service ARNs the run targets
//	io.ecschaos.job-uid                   optional: uid of the Kubernetes Job whose pod registered it
//	io.ecschaos.marker-version            the marker's format version (absent: version 1, before job-uid)
//
// A container carrying these labels is part of a chaos revision only while its image equals the
// io.ecschaos.chaos-image label: a pipeline that copies the labels into a new revision with a real image does
// not produce a marker.
//
// The marker is also written as tags, for people browsing the console and for tag-based IAM conditions:
//
//	ecschaos:run-id             the run id
//	ecschaos:original-revision  the original revision number
//
// Tags are best effort. The original's tags are the customer's and always win the 50-tag budget; tags ECS
// would refuse (an aws: prefix, bad characters, too long) are left out of the copy and reported as warnings.
package taskdef

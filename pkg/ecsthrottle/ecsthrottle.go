// Package ecsthrottle is ECS's documented API throttling as data: which token bucket each ECS API action draws
// from, and that bucket's burst and refill rate. It is the one copy of that table: the simulator (pkg/ecssim)
// throttles with it and the fault (chaoslib/ecsimage) paces its calls to it, so the two cannot drift apart.
package ecsthrottle

// Category is one row of ECS's table: a bucket shared by all its Actions, per AWS account and per Region.
type Category struct {
	Name            string   // the table's "API action category", e.g. "Task definition modify actions"
	Actions         []string // API action names, as in X-Amz-Target and the SDK's operation names
	Burst           int      // "Bucket maximum capacity (Burst)"
	RefillPerSecond float64  // "Bucket refill rate (Sustained)"
}

// Categories returns the table of "Request throttling for the Amazon ECS API"
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html), row by row, in the page's
// order. Each call returns a fresh copy, so a caller may change it.
//
// Actions the page does not list have no bucket here. Among the fault's calls that is StopServiceDeployment:
// the simulator does not throttle it and the fault does not pace it. That is our decision for an action whose
// rate ECS does not document, not a rate ECS states.
func Categories() []Category {
	return []Category{
		{"Cluster modify actions", []string{"CreateCluster", "DeleteCluster", "PutClusterCapacityProviders", "UpdateCluster", "UpdateClusterSettings"}, 20, 1},
		{"Cluster read actions", []string{"DescribeClusters", "ListClusters"}, 50, 20},
		{"Task definition modify actions", []string{"DeregisterTaskDefinition", "RegisterTaskDefinition"}, 20, 1},
		{"Task definition read actions", []string{"DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"}, 50, 20},
		{"Task definition deletion actions", []string{"DeleteTaskDefinitions"}, 5, 1},
		{"Capacity provider modify actions", []string{"CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider"}, 10, 1},
		{"Capacity provider read actions", []string{"DescribeCapacityProviders"}, 50, 20},
		{"Tag modify actions", []string{"TagResource", "UntagResource"}, 20, 10},
		{"Tag read actions", []string{"ListTagsForResource"}, 50, 20},
		{"Setting modify actions", []string{"DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault"}, 10, 1},
		{"Setting read actions", []string{"ListAccountSettings"}, 50, 20},
		{"Cluster resource modify actions", []string{"DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand", "PutAttributes",
			"RunTask", "StartTask", "StopTask", "UpdateContainerAgent", "UpdateContainerInstancesStates"}, 100, 40},
		{"Cluster resource read actions", []string{"DescribeContainerInstances", "DescribeTasks", "ListAttributes", "ListContainerInstances", "ListTasks"}, 100, 20},
		{"Agent modify actions", []string{"RegisterContainerInstance", "SubmitAttachmentStateChanges", "SubmitContainerStateChange", "SubmitTaskStateChange"}, 200, 120},
		{"Service modify actions", []string{"CreateService", "DeleteService", "UpdateService"}, 50, 5},
		{"Service read actions", []string{"DescribeServices", "ListServices"}, 100, 20},
		{"Service deployment actions", []string{"DescribeServiceDeployments", "ListServiceDeployments"}, 50, 20},
		{"Service revision actions", []string{"DescribeServiceRevisions"}, 50, 20},
		{"Task protection actions", []string{"UpdateTaskProtection", "GetTaskProtection"}, 200, 80},
		{"Cluster service resource read actions", []string{"ListServicesByNamespace"}, 10, 1},
	}
}

// Lookup returns the category whose bucket action draws from; false for an action the page does not list (see
// Categories), which is then neither throttled nor paced.
func Lookup(action string) (Category, bool) {
	for _, c := range Categories() {
		for _, a := range c.Actions {
			if a == action {
				return c, true
			}
		}
	}
	return Category{}, false
}

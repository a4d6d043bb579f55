package ecsthrottle

import "testing"

// TestEveryActionInOneCategory: the table is a partition: each action draws from exactly one bucket, and every
// bucket can hold and refill a call.
func TestEveryActionInOneCategory(t *testing.T) {
	seen := map[string]string{}
	names := map[string]bool{}
	for _, c := range Categories() {
		if names[c.Name] {
			t.Errorf("category %q appears twice", c.Name)
		}
		names[c.Name] = true
		if c.Burst < 1 || c.RefillPerSecond <= 0 || len(c.Actions) == 0 {
			t.Errorf("%q: burst %d, refill %g/s, %d actions", c.Name, c.Burst, c.RefillPerSecond, len(c.Actions))
		}
		for _, a := range c.Actions {
			if other, ok := seen[a]; ok {
				t.Errorf("%s is in %q and %q", a, other, c.Name)
			}
			seen[a] = c.Name
		}
	}
	// The page's table has 20 rows naming 53 actions.
	if len(names) != 20 || len(seen) != 53 {
		t.Errorf("%d categories with %d actions, want 20 with 53", len(names), len(seen))
	}
}

// TestLookupTheFaultsCalls: the buckets of the calls the fault makes, as "Request throttling for the Amazon ECS
// API" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html) states them.
func TestLookupTheFaultsCalls(t *testing.T) {
	tests := []struct {
		action   string
		category string
		burst    int
		refill   float64
	}{
		{"RegisterTaskDefinition", "Task definition modify actions", 20, 1},
		{"DeregisterTaskDefinition", "Task definition modify actions", 20, 1},
		{"DescribeTaskDefinition", "Task definition read actions", 50, 20},
		{"ListTaskDefinitions", "Task definition read actions", 50, 20},
		{"UpdateService", "Service modify actions", 50, 5},
		{"DescribeServices", "Service read actions", 100, 20},
		{"ListTasks", "Cluster resource read actions", 100, 20},
		{"DescribeTasks", "Cluster resource read actions", 100, 20},
		{"DescribeServiceDeployments", "Service deployment actions", 50, 20},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			c, ok := Lookup(tt.action)
			if !ok || c.Name != tt.category || c.Burst != tt.burst || c.RefillPerSecond != tt.refill {
				t.Errorf("Lookup = %q %d/%g (found %t), want %q %d/%g", c.Name, c.Burst, c.RefillPerSecond, ok, tt.category, tt.burst, tt.refill)
			}
		})
	}
}

// TestLookupUnlistedAction: StopServiceDeployment is not in ECS's table, so it has no bucket (neither throttled
// by the simulator nor paced by the fault).
func TestLookupUnlistedAction(t *testing.T) {
	for _, action := range []string{"StopServiceDeployment", "", "registertaskdefinition"} {
		if c, ok := Lookup(action); ok {
			t.Errorf("Lookup(%q) = %q, want none", action, c.Name)
		}
	}
}

// TestResultsAreCopies: a caller changing what it got leaves the table alone.
func TestResultsAreCopies(t *testing.T) {
	c, _ := Lookup("RegisterTaskDefinition")
	c.Actions[0] = "Changed"
	Categories()[0].Actions[0] = "Changed"
	if c, _ := Lookup("RegisterTaskDefinition"); c.Actions[0] != "DeregisterTaskDefinition" {
		t.Error("changing a Lookup result changed the table")
	}
	if _, ok := Lookup("CreateCluster"); !ok {
		t.Error("changing the result of Categories changed the table")
	}
}

package main

import (
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestHoldErrors(t *testing.T) {
	calls := []call{
		{Sent: at(0), Op: "UpdateService", Service: "a", TaskDefinition: "chaos", Status: 200, Client: "fault"},
		{Sent: at(10), Op: "UpdateService", Service: "b", TaskDefinition: "chaos", Status: 400, ErrorCode: "ThrottlingException", Client: "fault"},
		{Sent: at(20), Op: "UpdateService", Service: "b", TaskDefinition: "chaos", Status: 200, Client: "fault"},
		{Sent: at(50), Op: "UpdateService", Service: "c", Status: 200, Client: "fault"}, // configuration only
		{Sent: at(60), Op: "UpdateService", Service: "d", TaskDefinition: "chaos", Status: 200, Client: "cli"},
		{Sent: at(4030), Op: "UpdateService", Service: "a", TaskDefinition: "orig", Status: 200, Client: "fault"},
		{Sent: at(3990), Op: "UpdateService", Service: "b", TaskDefinition: "orig", Status: 200, Client: "fault"},
	}
	updates := revisionUpdates(calls, "fault")
	if len(updates) != 2 || len(updates["a"]) != 2 || len(updates["b"]) != 2 {
		t.Fatalf("revisionUpdates = %v, want two updates for a and b only", updates)
	}
	got := holdErrors(updates, 4*time.Second)
	want := []time.Duration{-30 * time.Millisecond, 30 * time.Millisecond}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("holdErrors = %v, want %v (sorted; the throttled attempt does not count)", got, want)
	}
}

func TestPollStats(t *testing.T) {
	read := func(ms int, op string) call { return call{Sent: at(ms), Op: op, Client: "fault"} }
	tests := []struct {
		name             string
		calls            []call
		from, to         int
		polls, wantReads int
	}{
		{"one call per poll", []call{read(0, "DescribeServices"), read(1000, "DescribeServices"), read(2000, "DescribeServices")}, 0, 3000, 3, 3},
		{"a burst is one poll", []call{read(0, "DescribeServices"), read(5, "DescribeServices"), read(9, "ListTasks"), read(1000, "DescribeServices")}, 0, 3000, 2, 4},
		{"window edges", []call{read(0, "DescribeServices"), read(1000, "DescribeServices"), read(2000, "DescribeServices")}, 500, 2000, 1, 1},
		{"writes and other clients ignored", []call{read(0, "UpdateService"), {Sent: at(10), Op: "DescribeServices", Client: "cli"}}, 0, 3000, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			polls, reads := pollStats(tt.calls, at(tt.from), at(tt.to), 500*time.Millisecond)
			if polls != tt.polls || reads != tt.wantReads {
				t.Fatalf("pollStats = %d polls, %d reads; want %d, %d", polls, reads, tt.polls, tt.wantReads)
			}
		})
	}
}

func TestRegistrationBound(t *testing.T) {
	limit := ecssim.ECSRateLimits()["RegisterTaskDefinition"]
	if limit != ecssim.ECSRateLimits()["DeregisterTaskDefinition"] || limit.Burst != 20 || limit.PerSecond != 1 {
		t.Fatalf("the bound assumes registrations and deregistrations share one bucket of 20, then 1/s: %+v", limit)
	}
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, 6 * time.Second},
		{10, 6 * time.Second}, // 10 registrations and 10 deregistrations fit the burst of their shared bucket
		{11, 8 * time.Second}, // 22 calls: 2 beyond the burst
		{100, 186 * time.Second},
		{500, 986 * time.Second},
	}
	for _, tt := range tests {
		if got := registrationBound(tt.n, 6*time.Second, limit); got != tt.want {
			t.Errorf("registrationBound(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
	if got := registrationBound(500, time.Second, ecssim.RateLimit{Burst: 20, PerSecond: 2}); got != 491*time.Second {
		t.Errorf("at 2/s: %s, want 491s", got)
	}
}

func TestFormatCounts(t *testing.T) {
	got := formatCounts(map[string]int{"ListTasks": 1, "DescribeServices": 3, "CreateCluster": 2, "UpdateService": 2})
	want := "DescribeServices 3, UpdateService 2, ListTasks 1, CreateCluster 2"
	if got != want {
		t.Fatalf("formatCounts = %q, want %q", got, want)
	}
	if formatCounts(nil) != "none" {
		t.Fatalf("formatCounts(nil) = %q, want none", formatCounts(nil))
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
	}{
		{nil, false},
		{[]string{"-services", "1, 10,500", "-rtt", "20ms"}, false},
		{[]string{"-services", "0"}, true},
		{[]string{"-services", "ten"}, true},
		{[]string{"-scenarios", "start,nope"}, true},
		{[]string{"-duration", "0"}, true},
		{[]string{"-rtt", "-1ms"}, true},
	}
	for _, tt := range tests {
		_, err := parseConfig(tt.args, &discard{})
		if (err != nil) != tt.wantErr {
			t.Errorf("parseConfig(%q) error = %v, want error %v", tt.args, err, tt.wantErr)
		}
	}
	c, err := parseConfig([]string{"-services", "1, 10,500", "-module", "/m"}, &discard{})
	if err != nil || len(c.Services) != 3 || c.Services[2] != 500 || c.ManualScript != "/m/bench/manual.sh" {
		t.Fatalf("parseConfig = %+v, %v", c, err)
	}
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }

func TestPhases(t *testing.T) {
	calls := []call{
		{Sent: at(100), Op: "UpdateService", Service: "a", TaskDefinition: "chaos", Status: 200, Client: "fault"},
		{Sent: at(900), Op: "UpdateService", Service: "b", TaskDefinition: "chaos", Status: 200, Client: "fault"},
		{Sent: at(5000), Op: "UpdateService", Service: "a", TaskDefinition: "orig", Status: 200, Client: "fault"},
		{Sent: at(5100), Op: "DeregisterTaskDefinition", Status: 400, ErrorCode: "ThrottlingException", Client: "fault"},
		{Sent: at(5200), Op: "DeregisterTaskDefinition", Status: 200, Client: "fault"},
		{Sent: at(6000), Op: "UpdateService", Service: "b", TaskDefinition: "orig", Status: 200, Client: "fault"},
		{Sent: at(7000), Op: "DeregisterTaskDefinition", Status: 200, Client: "fault"},
	}
	got := phases(calls, t0)
	want := timeline{
		Inject:     span{100 * time.Millisecond, 900 * time.Millisecond},
		Restore:    span{5 * time.Second, 6 * time.Second},
		Deregister: span{5200 * time.Millisecond, 7 * time.Second},
	}
	if got != want {
		t.Fatalf("phases = %+v, want %+v", got, want)
	}
	if s := (span{}).String(); s != "–" {
		t.Fatalf("empty span renders %q", s)
	}
}

func TestLimitsNoteNamesSharedBuckets(t *testing.T) {
	want := "ecssim.ECSRateLimits, ECS's documented buckets: DescribeServices 100 then 20/s; DescribeTaskDefinition 50 then 20/s; " +
		"RegisterTaskDefinition and DeregisterTaskDefinition 20 then 1/s; UpdateService 50 then 5/s; ListTasks and DescribeTasks 100 then 20/s"
	if got := limitsNote(); got != want {
		t.Errorf("limitsNote =\n%s\nwant\n%s", got, want)
	}
}

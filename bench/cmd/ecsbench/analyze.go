package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// revisionUpdates returns, per service, the arrival times of the successful UpdateService calls that set a task
// definition: in a one-cycle run the first is the inject and the second the restore.
func revisionUpdates(calls []call, client string) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, c := range calls {
		if c.Op == "UpdateService" && c.TaskDefinition != "" && c.Status == 200 && c.Client == client {
			out[c.Service] = append(out[c.Service], c.Sent)
		}
	}
	return out
}

// holdErrors is, per service that was injected and restored, the time between its two UpdateService calls minus
// the intended hold: how long the chaos revision was active beyond (or short of) TOTAL_CHAOS_DURATION.
func holdErrors(updates map[string][]time.Time, hold time.Duration) []time.Duration {
	var out []time.Duration
	for _, ts := range updates {
		if len(ts) >= 2 {
			out = append(out, ts[1].Sub(ts[0])-hold)
		}
	}
	slices.Sort(out)
	return out
}

// countByOp counts the calls for which keep returns true, by operation.
func countByOp(calls []call, keep func(call) bool) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		if keep(c) {
			out[c.Op]++
		}
	}
	return out
}

func total(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}

// faultOperations are the operations of a fault's cycle, in the order of the cycle.
func faultOperations() []string {
	return []string{"DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService", "ListTasks", "DescribeTasks", "DeregisterTaskDefinition"}
}

// formatCounts renders counts as "Op n, Op n" in a fixed order (the fault's operations first).
func formatCounts(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	order := faultOperations()
	rank := func(op string) int {
		if i := slices.Index(order, op); i >= 0 {
			return i
		}
		return len(order)
	}
	ops := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
	})
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s %d", op, counts[op])
	}
	return strings.Join(parts, ", ")
}

// isRead says whether an operation only reads (the fault's polling is made of these).
func isRead(op string) bool {
	return strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List")
}

// pollStats groups the read calls that arrived within [from, to) into polls: a poll is a burst of calls, and a
// gap longer than minGap starts the next one. It returns the number of polls and of read calls.
func pollStats(calls []call, from, to time.Time, minGap time.Duration) (polls, reads int) {
	var last time.Time
	for _, c := range calls {
		if !isRead(c.Op) || c.Client != "fault" || c.Sent.Before(from) || !c.Sent.Before(to) {
			continue
		}
		if reads == 0 || c.Sent.Sub(last) > minGap {
			polls++
		}
		last = c.Sent
		reads++
	}
	return polls, reads
}

// registrationBound is about the least wall time ECS's documented rates allow for a one-cycle run over n services:
// the one-service run (base) plus the task definition calls beyond the burst of their bucket at its refill rate.
// The run registers n chaos revisions and deregisters them, and RegisterTaskDefinition and DeregisterTaskDefinition
// draw from one bucket (ECS's "Task definition modify actions", pkg/ecsthrottle), so 2n calls share it. At scale the
// one-service run's hold and restore overlap those calls, so the bound may overstate the least time by about that
// much (5 s in BENCHMARKS.md).
func registrationBound(n int, base time.Duration, limit ecssim.RateLimit) time.Duration {
	extra := max(0, 2*n-limit.Burst)
	if limit.PerSecond <= 0 {
		return base
	}
	return base + time.Duration(float64(extra)/limit.PerSecond*float64(time.Second))
}

// durations summarises a sample.
type durations []time.Duration

func (d durations) sorted() durations {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}

func (d durations) median() time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := d.sorted()
	return s[len(s)/2]
}

func (d durations) max() time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Max(d)
}

func (d durations) min() time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Min(d)
}

// ms renders a duration in milliseconds with one decimal, signed when negative.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func secs(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// span is the first and last arrival of a kind of call, relative to process start; zero when none was seen.
type span struct{ First, Last time.Duration }

func (s span) String() string {
	if s == (span{}) {
		return "–"
	}
	return fmt.Sprintf("%.1f–%.1f s", s.First.Seconds(), s.Last.Seconds())
}

// timeline shows where a many-service run spends its time: injecting, restoring, deregistering.
type timeline struct{ Inject, Restore, Deregister span }

// phases reads the timeline from the successful mutating calls of the fault.
func phases(calls []call, start time.Time) timeline {
	var tl timeline
	widen := func(s *span, at time.Time) {
		d := at.Sub(start)
		if *s == (span{}) {
			*s = span{d, d}
			return
		}
		s.First, s.Last = min(s.First, d), max(s.Last, d)
	}
	seen := map[string]int{}
	for _, c := range calls {
		if c.Status != 200 || c.Client != "fault" {
			continue
		}
		switch {
		case c.Op == "UpdateService" && c.TaskDefinition != "":
			seen[c.Service]++
			if seen[c.Service] == 1 {
				widen(&tl.Inject, c.Sent)
			} else {
				widen(&tl.Restore, c.Sent)
			}
		case c.Op == "DeregisterTaskDefinition":
			widen(&tl.Deregister, c.Sent)
		}
	}
	return tl
}

//go:build integration

package events_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/events"
	"github.com/ecschaos/ecs-invalid-container-image/test/kube"
)

// One apiserver serves every test of the package, started by the first test
// that needs it; tests isolate themselves by namespace.
var cluster = &kube.Shared{}

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}

// fixedClock keeps timestamps predictable; events only read the time.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

func namespace(t *testing.T) string {
	t.Helper()
	return cluster.Get(t).Namespace(t)
}

func eventsAbout(t *testing.T, cs kubernetes.Interface, ns, name string) []corev1.Event {
	t.Helper()
	list, err := cs.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

func TestKubeRecorderDeduplicatesWithCounts(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t)
	cs := cluster.Get(t).Clientset(t)
	clk := &fixedClock{now: time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)}
	obj := events.ChaosEngine(ns, "nginx-chaos", "4d1c1d1e-0000-4000-8000-000000000001")
	rec := events.NewKubeRecorder(dynamicFor(t, cluster.Get(t).Config), obj, events.Options{Host: "chaos-pod-x", Clock: clk})

	rec.Normal(ctx, events.ReasonPreChaosCheck, "svc-a: ACTIVE, 2 running tasks")
	for range 3 {
		clk.now = clk.now.Add(time.Second)
		rec.Normal(ctx, events.ReasonChaosInject, "svc-a: pointed at app:8 (image nginx:chaos-invalid-1)")
	}
	rec.Warning(ctx, events.ReasonPostChaosCheck, "svc-a: restore wait timed out")
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Recording after a Flush starts the writer again; a repeat after the
	// first write patches the existing event.
	clk.now = clk.now.Add(time.Second)
	rec.Normal(ctx, events.ReasonChaosInject, "svc-a: pointed at app:8 (image nginx:chaos-invalid-1)")
	rec.Normal(ctx, events.ReasonSummary, "Completed/Pass")
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	got := eventsAbout(t, cs, ns, "nginx-chaos")
	type summary struct {
		reason, eventType string
		count             int32
		span              time.Duration
	}
	var sums []summary
	for _, ev := range got {
		if ev.InvolvedObject.Kind != "ChaosEngine" || string(ev.InvolvedObject.UID) != obj.UID ||
			ev.Source.Component != events.DefaultComponent || ev.Source.Host != "chaos-pod-x" {
			t.Errorf("event %s about %+v from %+v", ev.Name, ev.InvolvedObject, ev.Source)
		}
		sums = append(sums, summary{ev.Reason, ev.Type, ev.Count, ev.LastTimestamp.Sub(ev.FirstTimestamp.Time)})
	}
	want := []summary{
		{events.ReasonPreChaosCheck, "Normal", 1, 0},
		{events.ReasonChaosInject, "Normal", 4, 3 * time.Second},
		{events.ReasonPostChaosCheck, "Warning", 1, 0},
		{events.ReasonSummary, "Normal", 1, 0},
	}
	if fmt.Sprint(sums) != fmt.Sprint(want) {
		t.Errorf("events = %v, want %v", sums, want)
	}
}

func TestKubeRecorderOnChaosResultTruncatesLongMessages(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t)
	cs := cluster.Get(t).Clientset(t)
	rec := events.NewKubeRecorder(dynamicFor(t, cluster.Get(t).Config), events.ChaosResult(ns, "ecs-invalid-container-image", ""), events.Options{})
	rec.Warning(ctx, events.ReasonSummary, strings.Repeat("é", 2000))
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := eventsAbout(t, cs, ns, "ecs-invalid-container-image")
	if len(got) != 1 || got[0].InvolvedObject.Kind != "ChaosResult" || len(got[0].Message) > 1024 || !strings.HasSuffix(got[0].Message, "...") {
		t.Fatalf("events = %+v", got)
	}
}

// TestKubeRecorderIsBestEffort checks that a recorder whose writes are
// refused neither blocks nor panics, logs the failure and reports it from
// Flush.
func TestKubeRecorderIsBestEffort(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t)
	forbidden := dynamicFor(t, cluster.Get(t).ConfigFor(cluster.Get(t).TokenFor(t, ns, "no-rights")))
	logger, hook := logtest.NewNullLogger()
	rec := events.NewKubeRecorder(forbidden, events.ChaosEngine(ns, "e", ""), events.Options{Logger: logger})
	rec.Normal(ctx, events.ReasonChaosInject, "x")
	err := rec.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("Flush = %v, want the forbidden write reported", err)
	}
	if entry := hook.LastEntry(); entry == nil || entry.Level != logrus.WarnLevel {
		t.Errorf("log = %v, want a warning", hook.AllEntries())
	}
}

// TestKubeRecorderFlushIsBounded points the recorder at an apiserver that
// accepts connections and never answers; Flush must return by its deadline.
func TestKubeRecorderFlushIsBounded(t *testing.T) {
	ctx := t.Context()
	hung := hangingServer(t)
	rec := events.NewKubeRecorder(dynamicFor(t, &rest.Config{Host: "http://" + hung}), events.ChaosEngine("ns", "e", ""), events.Options{})
	rec.Normal(ctx, events.ReasonSummary, "x")
	flushCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := rec.Flush(flushCtx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush = %v, want the deadline", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Flush took %s after a 300ms deadline", took)
	}
}

func TestLogRecorder(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	rec := events.LogRecorder{Logger: logger}
	ctx := t.Context()
	rec.Normal(ctx, events.ReasonChaosInject, "injected")
	rec.Warning(ctx, events.ReasonSummary, "failed")
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	entries := hook.AllEntries()
	if len(entries) != 2 || entries[0].Data["event"] != events.ReasonChaosInject || entries[1].Level != logrus.WarnLevel {
		t.Errorf("entries = %v", entries)
	}
	// Without a logger it is a no-op.
	events.LogRecorder{}.Normal(ctx, events.ReasonSummary, "dropped")
}

// hangingServer accepts connections and never answers them.
func hangingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		for {
			select {
			case c := <-conns:
				_ = c.Close()
			default:
				return
			}
		}
	})
	return l.Addr().String()
}

func dynamicFor(t *testing.T, cfg *rest.Config) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

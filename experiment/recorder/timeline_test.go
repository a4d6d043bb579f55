package recorder

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/probe"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/report"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/timeline"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// The timeline is drawn from the hooks of a real run against the simulator (through the SDK): polls of the hold
// and of the restore wait, and the fault's steps at their times.
func TestRunTimelineFromTheFaultsHooks(t *testing.T) {
	c := clock.NewScaled(50)
	sim, client, _ := ecssim.StartServer(t, ecssim.Options{Clock: c})
	if _, err := sim.SeedService(t.Context(), client, ecssim.SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 2,
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}}); err != nil {
		t.Fatal(err)
	}
	image, err := taskdef.ResolveChaosImage("nginx", "tl1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := tunables.Config{ClusterName: "prod", Services: []string{"web"}, Region: "us-east-1", TotalChaosDuration: 60 * time.Second,
		ChaosInterval: 60 * time.Second, StatusCheckDelay: 2 * time.Second, StatusCheckTimeout: 180 * time.Second, ExpectHealthyTasks: -1, Sequence: "parallel"}
	rt := newRunTimeline(cfg, image.Reference, "tl1", c)
	rep := ecsimage.Run(t.Context(), ecsimage.Clients{Chaos: client, Restore: client}, ecsimage.Options{
		Cluster: "prod", Services: []string{"web"}, Region: "us-east-1", Image: image, AffectedPercent: 100,
		Duration: 60 * time.Second, Interval: 60 * time.Second, StatusCheckTimeout: 180 * time.Second, StatusCheckDelay: 2 * time.Second,
		RunID: "tl1", Clock: c, Hooks: rt.hooks(ecsimage.Hooks{}),
	})
	if o := rep.Outcome(); o != ecsimage.OutcomePass {
		t.Fatalf("run outcome %s: %+v", o, rep.Services)
	}
	snap := rt.finish(rep, []probe.Result{{Name: "health", Type: "httpProbe", Mode: "OnChaos", Verdict: probe.Passed}}, nil)
	tl, found, err := timeline.Decode(snap)
	if err != nil || !found {
		t.Fatalf("Decode: %v %v", found, err)
	}
	if len(tl.Services) != 1 || len(tl.Services[0].Samples) < 3 {
		t.Fatalf("timeline services = %+v, want web with samples", tl.Services)
	}
	web := tl.Services[0]
	kinds := map[timeline.Kind]time.Time{}
	for _, m := range web.Marks {
		if _, dup := kinds[m.Kind]; !dup {
			kinds[m.Kind] = m.At
		}
	}
	for _, k := range []timeline.Kind{timeline.KindInject, timeline.KindFirstFailure, timeline.KindRestore, timeline.KindRestored, timeline.KindDeregister} {
		if _, ok := kinds[k]; !ok {
			t.Errorf("no %s mark; marks: %+v", k, web.Marks)
		}
	}
	if !kinds[timeline.KindInject].Before(kinds[timeline.KindFirstFailure]) || !kinds[timeline.KindRestore].Before(kinds[timeline.KindRestored]) {
		t.Errorf("marks out of order: %v", kinds)
	}
	var pending, restoredWhole bool
	for _, s := range web.Samples {
		pending = pending || s.Chaos.Pending > 0 || s.Chaos.Failed > 0
		restoredWhole = restoredWhole || (s.At.After(kinds[timeline.KindRestore]) && s.Original.Running == 2 && s.Chaos == timeline.Tasks{})
	}
	if !pending || !restoredWhole {
		t.Errorf("samples show chaos tasks: %v, the service whole after the restore: %v; samples %+v", pending, restoredWhole, web.Samples)
	}
	if len(tl.Probes) != 1 || tl.Probes[0].From.After(kinds[timeline.KindInject].Add(time.Second)) || !tl.Probes[0].To.After(tl.Probes[0].From) {
		t.Errorf("the OnChaos probe spans %+v, want the chaos window", tl.Probes)
	}
	var res result.ChaosResult
	res.Name, res.Phase, res.Verdict = "r", result.PhaseCompleted, result.VerdictPass
	res.FaultStatus = faultStatus(rep, ecsimage.OutcomePass)
	res.FaultStatus[timelineField] = snap
	path := filepath.Join(t.TempDir(), "report.html")
	if err := report.WriteFile(path, &res, report.Options{}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(page, []byte(`data-service="web"`)) || !bytes.Contains(page, []byte(`<svg class="chart"`)) {
		t.Fatalf("report file: %v, %d bytes, want web's row in the chart", err, len(page))
	}
}

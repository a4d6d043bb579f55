package ecsimage

import (
	"context"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

func TestPacerHoldsToTheDocumentedRate(t *testing.T) {
	c := clock.NewScaled(100)
	p := newPacer(c, map[string]Rate{"RegisterTaskDefinition": {Burst: 20, PerSecond: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := c.Now()
	for i := 0; i < 25; i++ {
		if err := p.take(ctx, "RegisterTaskDefinition"); err != nil {
			t.Fatalf("take %d: %v", i, err)
		}
	}
	// 20 at once, then one a second (less the pacing margin): the 25th call goes after about 5.3 s.
	if took := c.Now().Sub(start); took < 5*time.Second || took > 7*time.Second {
		t.Errorf("25 calls took %s of clock time, want about 5.3s", took)
	}
	if err := p.take(ctx, "DescribeServices"); err != nil {
		t.Errorf("an unpaced operation waited: %v", err)
	}
}

func TestPacerStopsWaitingWhenStopped(t *testing.T) {
	c := clock.Real{}
	p := newPacer(c, map[string]Rate{"UpdateService": {Burst: 1, PerSecond: 0.001}})
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.take(ctx, "UpdateService"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.take(ctx, "UpdateService"); err == nil {
		t.Error("a stopped context still got a token after the bucket ran dry")
	}
}

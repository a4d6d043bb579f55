package ecssim

import (
	"sync"
	"time"

	smithy "github.com/aws/smithy-go"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// concurrentRevisionMessage is ECS's wording, word for word, of its refusal of a registration that overlaps another
// in the same family (a ClientException, HTTP 400), as users quote it: hashicorp/terraform-provider-aws#9777,
// jenkinsci/amazon-ecs-plugin#105, dagster-io/dagster#11192 ("multiple simultaneous runs ... run A successfully
// registers the task definition, run B hits the error"), PrefectHQ/prefect#15865 (two or three flows starting at
// the same time). ECS documents neither the message nor how long a family stays locked.
const concurrentRevisionMessage = "Too many concurrent attempts to create a new revision of the specified family."

// registrations tracks the RegisterTaskDefinition calls in flight per family. The zero value is ready to use.
type registrations struct {
	mu       sync.Mutex
	window   time.Duration
	inFlight map[string]bool
}

// SetRegistrationWindow makes each RegisterTaskDefinition take d of simulated time, during which its family is
// locked: another registration of the same family arriving meanwhile is refused with ECS's ClientException "Too
// many concurrent attempts to create a new revision of the specified family." Registrations that wait for each
// other's replies never overlap, whatever d. Zero (the default, so that existing timings stay as they were)
// turns the model off.
func (s *Simulator) SetRegistrationWindow(d time.Duration) {
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	s.regs.window = max(d, 0)
}

// begin marks a registration of family as in flight and returns the timer that ends it (nil when the model is
// off); it reports false when one already is. The timer exists before the family shows as busy, so a test that
// saw it busy may move a manual clock past it.
func (r *registrations) begin(family string, c clock.Clock) (window clock.Timer, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.window <= 0 {
		return nil, true
	}
	if r.inFlight[family] {
		return nil, false
	}
	if r.inFlight == nil {
		r.inFlight = map[string]bool{}
	}
	r.inFlight[family] = true
	return c.NewTimer(r.window), true
}

func (r *registrations) end(family string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.inFlight, family)
}

func (r *registrations) busy(family string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inFlight[family]
}

type familyOnly struct {
	Family string `json:"family"`
}

// registerInWindow is RegisterTaskDefinition with the family lock: the registration takes effect on arrival and
// its reply leaves when the window has passed on the simulator's clock.
func (s *Simulator) registerInWindow(body []byte) (smithy.Serializable, string, *APIError) {
	var in familyOnly
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	window, ok := s.regs.begin(in.Family, s.clk)
	if !ok {
		return nil, "", clientErr("%s", concurrentRevisionMessage)
	}
	if window == nil {
		return s.registerTaskDefinition(body)
	}
	defer s.regs.end(in.Family)
	defer window.Stop()
	out, summary, apiErr := s.registerTaskDefinition(body)
	if apiErr == nil {
		select {
		case <-window.C():
		case <-s.done:
		}
	}
	return out, summary, apiErr
}

// RegistrationInFlight reports whether a RegisterTaskDefinition of family is in flight, so that a test can start
// another caller (a pipeline) at the same moment.
func (s *Simulator) RegistrationInFlight(family string) bool { return s.regs.busy(family) }

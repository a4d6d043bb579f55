package ecssim

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

// TestOverlappingRegistrationsInOneFamily: a registration that arrives while another of the same family is in
// flight is refused with ECS's ClientException, word for word; other families, and registrations that waited for
// the previous reply, go through.
func TestOverlappingRegistrationsInOneFamily(t *testing.T) {
	s, c, ctx := startScaled(t, Options{}, noRetries)
	clk := s.clk.(*manualClock)
	const window = 2 * time.Second
	s.SetRegistrationWindow(window)
	register := func(family string) (*ecs.RegisterTaskDefinitionOutput, error) {
		return c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String(family),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
		})
	}
	type reply struct {
		out *ecs.RegisterTaskDefinitionOutput
		err error
	}
	inFlight := func(family string) <-chan reply {
		done := make(chan reply, 1)
		go func() {
			out, err := register(family)
			done <- reply{out, err}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !s.regs.busy(family) {
			if time.Now().After(deadline) {
				t.Fatalf("the registration of %s never reached the simulator", family)
			}
			time.Sleep(time.Millisecond)
		}
		return done
	}

	first := inFlight("web")
	_, err := register("web")
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ClientException" ||
		apiErr.ErrorMessage() != "Too many concurrent attempts to create a new revision of the specified family." {
		t.Fatalf("overlapping registration: got %v, want ECS's ClientException", err)
	}
	other := inFlight("api") // another family is not locked by web's registration
	clk.Advance(window)
	for name, ch := range map[string]<-chan reply{"web": first, "api": other} {
		r := <-ch
		if r.err != nil || r.out.TaskDefinition.Revision != 1 {
			t.Fatalf("%s: first registration: %v", name, r.err)
		}
	}
	// The refused call registered nothing, and the family is free again once the reply left.
	next := inFlight("web")
	clk.Advance(window)
	if r := <-next; r.err != nil || r.out.TaskDefinition.Revision != 2 {
		t.Fatalf("registration after the window: %v, want revision 2", r.err)
	}
}

// Package contract holds contract tests of the project's ECS usage: one scenario runs through the real
// SDK against moto_server (an independent implementation of the ECS API) and against the simulator
// pkg/ecssim, and both are held to the documented AWS behaviour. Where moto departs from that
// documentation the departure is listed by name and asserted as such, never copied into the simulator.
package contract

// Package sim is ustack's deterministic network simulator: a virtual clock,
// an event queue, and links whose two directions are impaired by
// link/impair models, joining hosts that are stepped on virtual time.
//
// A World owns the clock. World.Link makes two Ports, each a link.Link: a
// frame sent on one is offered to the impairment model of that direction
// and becomes receivable on the other at the arrival time the model gives.
// A Host (a *shard.Shard in simulator mode, or any test double) is attached
// to its ports with AddHost; the World calls Host.Step(now) when a frame
// becomes receivable on one of its ports and at the deadline the host's last
// Step returned (math.MaxInt64: nothing scheduled). Several events due at the
// same instant are all applied before the hosts they concern are stepped,
// once each, in the order they were first concerned.
//
// Everything is single-threaded and seeded: the same seed, topology and
// host behaviour give the same run, frame for frame and nanosecond for
// nanosecond. Each link direction draws its randomness from a seed derived
// from the world seed, the link's number and the direction (and
// impair.Config.Seed, when set, is mixed in too).
//
// Events live in a binary heap of values ordered by time and then by
// insertion sequence, so ties resolve in the order events were made; the
// heap's backing array is reused, so a steady state allocates nothing.
package sim

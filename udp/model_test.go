package udp

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// Random sequences of Bind (fixed and ephemeral) and Unbind agree with
// the obvious model, a set of bound ports: a fixed bind succeeds exactly
// when the port is free, an ephemeral one exactly when some port of the
// range is free and then returns a free port of the range.
func TestBindAgainstModel(t *testing.T) {
	const lo, hi = 40000, 40015
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		tb, _ := newTable(t, Config{MinPort: lo, MaxPort: hi, Seed: [32]byte{byte(seed)}})
		model := map[uint16]*Endpoint{}
		freeInRange := func() int {
			n := 0
			for p := uint16(lo); p <= hi; p++ {
				if model[p] == nil {
					n++
				}
			}
			return n
		}
		for step := range 400 {
			switch op := rng.IntN(3); {
			case op == 0: // fixed port, sometimes inside the range
				p := uint16(lo - 4 + rng.IntN(24))
				e := NewEndpoint(nil)
				err := tb.Bind(e, netip.Addr{}, p)
				if (model[p] == nil) != (err == nil) {
					t.Fatalf("seed %d step %d: Bind(%d) = %v with model bound=%v", seed, step, p, err, model[p] != nil)
				}
				if err == nil {
					model[p] = e
				} else if !errors.Is(err, ErrAddrInUse) {
					t.Fatalf("Bind(%d): %v, want ErrAddrInUse", p, err)
				}
			case op == 1: // ephemeral
				e := NewEndpoint(nil)
				free := freeInRange()
				err := tb.Bind(e, netip.Addr{}, 0)
				if (free > 0) != (err == nil) {
					t.Fatalf("seed %d step %d: ephemeral Bind = %v with %d free", seed, step, err, free)
				}
				if err != nil {
					continue
				}
				p := e.LocalAddr().Port()
				if p < lo || p > hi || model[p] != nil {
					t.Fatalf("seed %d step %d: ephemeral port %d taken or outside the range", seed, step, p)
				}
				model[p] = e
			default: // unbind something
				for p, e := range model {
					tb.Unbind(e)
					delete(model, p)
					break
				}
			}
			if tb.Bound() != len(model) {
				t.Fatalf("seed %d step %d: table has %d bound, model %d", seed, step, tb.Bound(), len(model))
			}
			for p, e := range model {
				if tb.Lookup(p) != e {
					t.Fatalf("seed %d step %d: Lookup(%d) disagrees with the model", seed, step, p)
				}
			}
		}
	}
}

package impair

import (
	"testing"
	"time"

	"github.com/ustack/ustack/link"
)

// FuzzParseSpec: any string either fails to parse or gives a valid Config
// whose String parses back to the same Config.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"", "none", "delay=5ms,jitter=1ms,loss=0.5%,reorder=1%,dup=0.2%,corrupt=0.1%,rate=100mbit,queue=64kb,ge=1%/25%/0%/100%",
		"ge=1%/10%", "rate=1.5gbit", "loss=0.3", "seed=0x7", "corruptbits=64", "rate=18446744073709551615bit",
		"queue=1e3", "delay=1h,reorder=1", "loss=1e-300%", "jitterreorder=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSpec(s)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseSpec(%q) gave an invalid config: %v", s, err)
		}
		back, err := ParseSpec(c.String())
		if err != nil || back != c {
			t.Fatalf("ParseSpec(%q) = %+v; String %q parses to %+v, %v", s, c, c.String(), back, err)
		}
	})
}

// FuzzModel drives a model built from a fuzzed spec with fuzzed frame
// lengths and time steps: no panic, arrivals never before the offer time,
// every buffer accounted for, counters consistent.
func FuzzModel(f *testing.F) {
	f.Add("delay=1ms,jitter=2ms,loss=10%,reorder=5%,dup=20%,corrupt=30%,corruptbits=9,rate=1mbit,queue=3kb,ge=5%/20%", []byte{0, 10, 200, 3, 14, 15, 255, 1})
	f.Add("", []byte{1})
	f.Add("jitter=5ms,jitterreorder=true,dup=100%", []byte{60, 60, 0, 0})
	f.Fuzz(func(t *testing.T, spec string, steps []byte) {
		cfg, err := ParseSpec(spec)
		if err != nil {
			return
		}
		m, err := NewModel(cfg)
		if err != nil {
			t.Fatalf("NewModel rejected a parsed config: %v", err)
		}
		p := link.MustPool(link.PoolConfig{Count: 4, Size: 256})
		now := time.Duration(0)
		var delivered uint64
		for i, s := range steps {
			now += time.Duration(s) * time.Microsecond
			b := p.Get()
			if b == nil {
				t.Fatal("leak: pool empty")
			}
			b.SetLen(int(s) % 257)
			out, _ := m.Offer(now, b, nil)
			for _, d := range out {
				if d.At < now {
					t.Fatalf("step %d: arrival %v before offer %v", i, d.At, now)
				}
				d.Buf.Free()
				delivered++
			}
		}
		st := m.Stats()
		if st.Offered != uint64(len(steps)) || st.Passed+st.QueueDrops+st.LossDrops+st.BurstDrops != st.Offered ||
			st.Passed+st.Duplicated != delivered || p.InUse() != 0 {
			t.Fatalf("stats %+v, %d delivered, %d in use", st, delivered, p.InUse())
		}
	})
}

package cc

import (
	"math"
	"testing"
	"time"
)

// FuzzEvents drives each algorithm with arbitrary call sequences: nothing
// panics, cwnd stays at least one MSS and finite, ssthresh at least 2 MSS
// once set, and PRR never asks for a negative amount.
func FuzzEvents(f *testing.F) {
	f.Add([]byte{0, 10, 1, 2, 3, 0, 200, 4, 5, 0, 0, 6, 7})
	f.Add([]byte{2, 2, 2, 3, 3, 5, 0, 255, 0, 255, 6, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		for _, name := range Names() {
			a, err := New(name, Config{})
			if err != nil {
				t.Fatal(err)
			}
			m := 1460
			a.Init(m, 0)
			var p PRR
			now := time.Duration(0)
			for i := 0; i+1 < len(ops); i += 2 {
				op, arg := ops[i]%8, int(ops[i+1])
				now += time.Duration(arg) * time.Millisecond
				switch op {
				case 0, 1:
					a.OnAck(arg*100, time.Duration(arg)*time.Millisecond, arg*m, now, op == 1)
				case 2:
					a.OnCongestion(FastRetransmit, arg*m, now)
					p.Start(a.Ssthresh(), arg*m, m)
				case 3:
					a.OnCongestion(Event(arg%5), arg*m, now)
				case 4:
					a.OnRecoveryExit(now)
				case 5:
					a.Undo(now)
				case 6:
					if n := p.OnAck(arg*100, arg*m/2); n < 0 {
						t.Fatalf("PRR sndcnt %d", n)
					} else {
						p.OnSent(n)
					}
				case 7:
					m = 500 + arg*4
					a.SetMSS(m)
				}
				if a.Cwnd() < 1 || a.Cwnd() > math.MaxInt32 {
					t.Fatalf("%s: cwnd %d after op %d", name, a.Cwnd(), op)
				}
				if a.Ssthresh() != InfiniteSsthresh && a.Ssthresh() < 2*500 {
					t.Fatalf("%s: ssthresh %d", name, a.Ssthresh())
				}
			}
		}
	})
}

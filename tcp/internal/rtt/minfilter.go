package rtt

import "time"

// minFilter is a windowed minimum kept in constant space: s[0] is the best
// (smallest) sample within the window, s[1] the best sample taken after
// s[0], s[2] the best after s[1]. When s[0] ages out of the window, s[1]
// takes its place. Candidates are refreshed at a quarter and a half of the
// window so that an aged-out minimum is replaced by a recent one rather than
// by nothing.
type minFilter struct {
	s [3]minSample
}

type minSample struct {
	rtt time.Duration
	at  time.Duration
}

func (f *minFilter) reset(m minSample) { f.s = [3]minSample{m, m, m} }

func (f *minFilter) update(r, now, win time.Duration) {
	m := minSample{rtt: r, at: now}
	if f.s[0].rtt == 0 || r <= f.s[0].rtt || now-f.s[2].at > win {
		// New overall minimum, first sample, or every candidate expired.
		f.reset(m)
		return
	}
	if r <= f.s[1].rtt {
		f.s[1], f.s[2] = m, m
	} else if r <= f.s[2].rtt {
		f.s[2] = m
	}
	age := now - f.s[0].at
	switch {
	case age > win:
		// The minimum aged out: promote the later candidates.
		f.s[0], f.s[1], f.s[2] = f.s[1], f.s[2], m
		if now-f.s[0].at > win {
			f.s[0], f.s[1] = f.s[1], f.s[2]
		}
	case f.s[1].at == f.s[0].at && age > win/4:
		// A quarter window passed without a second candidate: take one.
		f.s[1], f.s[2] = m, m
	case f.s[2].at == f.s[1].at && age > win/2:
		f.s[2] = m
	}
}

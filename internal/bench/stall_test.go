package bench

import (
	"strings"
	"testing"
	"time"
)

func TestStallNote(t *testing.T) {
	w := &stallWatch{stop: make(chan struct{}), max: 120 * time.Millisecond}
	if n := w.Stop(); !strings.Contains(n, "120ms late") {
		t.Errorf("note for a 120 ms stall: %q", n)
	}
	w = &stallWatch{stop: make(chan struct{}), max: 10 * time.Millisecond}
	if n := w.Stop(); n != "" {
		t.Errorf("note for a 10 ms stall: %q, want none", n)
	}
	// A live watch stops and reports something well formed.
	live := startStallWatch()
	time.Sleep(3 * stallTick)
	if n := live.Stop(); n != "" && !strings.Contains(n, "late") {
		t.Errorf("live note %q", n)
	}
}

package seqnum

import "testing"

func TestWrapAround(t *testing.T) {
	const top = Value(0xfffffff0)
	cases := []struct {
		a, b Value
		less bool
	}{
		{1, 2, true},
		{2, 1, false},
		{top, top.Add(0x20), true}, // crosses 2^32
		{top.Add(0x20), top, false},
		{0, 0x7fffffff, true},
		{5, 5, false},
	}
	for _, c := range cases {
		if got := c.a.LessThan(c.b); got != c.less {
			t.Errorf("%#x < %#x = %v, want %v", c.a, c.b, got, c.less)
		}
		if c.a != c.b && c.a.GreaterThan(c.b) == c.less {
			t.Errorf("%#x > %#x disagrees with <", c.a, c.b)
		}
	}
	if !Value(0xffffffff).InWindow(0xfffffff0, 0x20) || Value(0x10).InWindow(0xfffffff0, 0x20) {
		t.Error("InWindow wrong across wrap")
	}
	if !Value(5).InRange(5, 6) || Value(6).InRange(5, 6) {
		t.Error("InRange bounds wrong")
	}
	if Max(top, 3) != 3 || Min(top, 3) != top {
		t.Error("Max/Min wrong across wrap")
	}
	if Value(3).Sub(top) != 0x13 {
		t.Errorf("Sub across wrap = %#x", Value(3).Sub(top))
	}
}

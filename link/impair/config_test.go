package impair

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseSpecExample(t *testing.T) {
	c, err := ParseSpec("delay=5ms,jitter=1ms,loss=0.5%,reorder=1%,dup=0.2%,corrupt=0.1%,rate=100mbit,queue=64kb,ge=1%/25%/0%/100%")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.005, Reorder: 0.01,
		Duplicate: 0.002, Corrupt: 0.001, Rate: 100_000_000, QueueLimit: 65536,
		GE: GilbertElliott{P: 0.01, R: 0.25, LossGood: 0, LossBad: 1},
	}
	if c != want {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if s := c.String(); s != "delay=5ms,jitter=1ms,rate=100mbit,queue=64kb,loss=0.5%,ge=1%/25%/0%/100%,reorder=1%,dup=0.2%,corrupt=0.1%" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseSpecForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Config
	}{
		{"", Config{}},
		{"none", Config{}},
		{" loss = 0.25 ", Config{Loss: 0.25}},
		{"loss=100%", Config{Loss: 1}},
		{"rate=1.5gbit", Config{Rate: 1_500_000_000}},
		{"rate=9600", Config{Rate: 9600}},
		{"rate=10Mbit,queue=1500", Config{Rate: 10_000_000, QueueLimit: 1500}},
		{"rate=1kbit,queue=2mb", Config{Rate: 1000, QueueLimit: 2 << 20}},
		{"ge=1%/10%", Config{GE: GilbertElliott{P: 0.01, R: 0.1, LossBad: 1}}},
		{"delay=1ms,reorder=5%,gap=300us", Config{Delay: time.Millisecond, Reorder: 0.05, ReorderGap: 300 * time.Microsecond}},
		{"duplicate=1%,corrupt=2%,corruptbits=5,seed=0x10", Config{Duplicate: 0.01, Corrupt: 0.02, CorruptBits: 5, Seed: 16}},
		{"jitter=1ms,jitterreorder=true", Config{Jitter: time.Millisecond, JitterReorder: true}},
	} {
		got, err := ParseSpec(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSpecErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ in, key string }{
		{"delay=5", "delay"},
		{"delay=-1ms", "delay"},
		{"jitter=fast", "jitter"},
		{"loss=150%", "loss"},
		{"loss=-1", "loss"},
		{"loss=NaN", "loss"},
		{"reorder=x", "reorder"},
		{"dup=2", "dup"},
		{"rate=100mbps", "rate"},
		{"rate=0.5bit", "rate"},
		{"rate=-5mbit", "rate"},
		{"queue=64q", "queue"},
		{"ge=1%", "ge"},
		{"ge=1%/2%/3%", "ge"},
		{"ge=1%/200%", "ge"},
		{"corruptbits=0", "corruptbits"},
		{"corruptbits=65", "corruptbits"},
		{"seed=-1", "seed"},
		{"colour=blue", "colour"},
		{"delay=1ms,delay=2ms", "delay"},
		{"jitterreorder=maybe", "jitterreorder"},
	} {
		_, err := ParseSpec(tc.in)
		if err == nil || !strings.Contains(err.Error(), `"`+tc.key+`"`) {
			t.Errorf("ParseSpec(%q) error %v, want one naming key %q", tc.in, err, tc.key)
		}
	}
	for _, in := range []string{"loss", "=5", "loss=", "delay=1ms,,loss=1%"} {
		if _, err := ParseSpec(in); err == nil {
			t.Errorf("ParseSpec(%q) accepted", in)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Delay: -1}, "delay"},
		{Config{Jitter: -1}, "jitter"},
		{Config{ReorderGap: -1}, "reorder gap"},
		{Config{QueueLimit: -1}, "queue limit"},
		{Config{QueueLimit: 1000}, "needs a rate"},
		{Config{Corrupt: 1.5}, "corrupt"},
		{Config{CorruptBits: 99}, "corrupt bits"},
		{Config{GE: GilbertElliott{P: 0.1, R: 0.1}}, "loses nothing"},
		{Config{GE: GilbertElliott{P: 0.1, R: 0.1, LossBad: -0.5}}, "loss-in-bad"},
		{Config{Reorder: 0.1}, "reorder needs"},
	} {
		err := tc.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: Validate() = %v, want an error about %q", tc.c, err, tc.want)
		}
	}
	for _, c := range []Config{{}, {Reorder: 0.1, Delay: 1}, {Reorder: 0.1, ReorderGap: 1}, {Rate: 1, QueueLimit: 1}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestStringRoundTrip checks ParseSpec(c.String()) == c for random valid
// configurations, including probabilities with no short percentage form.
func TestStringRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	prob := func() float64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return float64(r.IntN(10001)) / 10000 // percentages with 2 decimals
		default:
			return r.Float64()
		}
	}
	dur := func() time.Duration {
		if r.IntN(3) == 0 {
			return 0
		}
		return time.Duration(r.Int64N(int64(10 * time.Second)))
	}
	for i := 0; i < 5000; i++ {
		c := Config{
			Delay: dur(), Jitter: dur(), JitterReorder: r.IntN(2) == 0,
			Loss: prob(), Reorder: prob(), ReorderGap: dur(), Duplicate: prob(), Corrupt: prob(),
			CorruptBits: r.IntN(MaxCorruptBits + 1), Seed: r.Uint64() >> r.IntN(64),
		}
		if r.IntN(2) == 0 {
			c.Rate = uint64(r.Int64N(1e12)+1) * []uint64{1, 1000, 1e6}[r.IntN(3)] % (1 << 62)
			if r.IntN(2) == 0 {
				c.QueueLimit = r.IntN(1 << 30)
			}
		}
		if r.IntN(2) == 0 {
			c.GE = GilbertElliott{P: prob(), R: prob(), LossGood: prob(), LossBad: prob()}
		}
		if c.Validate() != nil {
			continue
		}
		s := c.String()
		got, err := ParseSpec(s)
		if err != nil || got != c {
			t.Fatalf("round trip of %+v via %q: %+v, %v", c, s, got, err)
		}
	}
}

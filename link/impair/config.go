package impair

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Config describes the impairments of one direction of a link. The zero
// value is a perfect link: no delay, unlimited rate, no loss. Probabilities
// are float64 values in [0, 1] (ParseSpec also takes percentages).
type Config struct {
	// Delay is the one-way propagation delay added after serialization.
	Delay time.Duration
	// Jitter spreads the delay uniformly over [Delay-Jitter, Delay+Jitter]
	// (clamped at zero). Jitter never reorders frames unless JitterReorder.
	Jitter time.Duration
	// JitterReorder lets jittered frames overtake each other (netem's
	// behaviour) instead of keeping the link FIFO.
	JitterReorder bool

	// Rate is the link bandwidth in bits per second; 0 means unlimited
	// (frames take no time to serialize).
	Rate uint64
	// QueueLimit bounds, in bytes, the backlog waiting for serialization
	// (including the frame being sent); excess frames are tail-dropped.
	// 0 means unlimited. It needs Rate > 0.
	QueueLimit int

	// Loss is the probability that a frame is lost, independently of others.
	Loss float64
	// GE is a Gilbert–Elliott bursty-loss channel, applied as well as Loss.
	GE GilbertElliott

	// Reorder is the probability that a frame skips ahead of frames still
	// in flight (see the package documentation for the model).
	Reorder float64
	// ReorderGap is how much sooner a reordered frame arrives than it
	// otherwise would. 0 means Delay (reordered frames skip the delay).
	ReorderGap time.Duration

	// Duplicate is the probability that a frame arrives twice.
	Duplicate float64

	// Corrupt is the probability that bits of a frame are flipped (never in
	// its Ethernet header).
	Corrupt float64
	// CorruptBits is the largest number of bits flipped in a corrupted
	// frame; each corrupted frame gets 1..CorruptBits distinct flips.
	// 0 means 1, which every IP/TCP/UDP checksum detects. At most 64.
	CorruptBits int

	// Seed seeds the random streams. Equal seeds give equal behaviour.
	Seed uint64
}

// GilbertElliott is a two-state Markov loss channel. Before each frame the
// channel moves good→bad with probability P and bad→good with probability R;
// the frame is then lost with probability LossGood or LossBad of the current
// state. The mean time in the bad state is 1/R frames, so with LossGood=0
// and LossBad=1 loss comes in bursts of mean length 1/R. The channel is
// enabled when any field is non-zero.
type GilbertElliott struct {
	P, R, LossGood, LossBad float64
}

// Enabled reports whether the channel is in use.
func (g GilbertElliott) Enabled() bool { return g != GilbertElliott{} }

// MaxCorruptBits is the largest CorruptBits accepted.
const MaxCorruptBits = 64

func checkProb(name string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("impair: %s probability %v out of range [0, 1]", name, p)
	}
	return nil
}

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	switch {
	case c.Delay < 0:
		return fmt.Errorf("impair: delay %v is negative", c.Delay)
	case c.Jitter < 0:
		return fmt.Errorf("impair: jitter %v is negative", c.Jitter)
	case c.Jitter > math.MaxInt64/4:
		return fmt.Errorf("impair: jitter %v too large", c.Jitter)
	case c.Delay > math.MaxInt64/4:
		return fmt.Errorf("impair: delay %v too large", c.Delay)
	case c.ReorderGap < 0:
		return fmt.Errorf("impair: reorder gap %v is negative", c.ReorderGap)
	case c.QueueLimit < 0:
		return fmt.Errorf("impair: queue limit %d bytes is negative", c.QueueLimit)
	case c.QueueLimit > 0 && c.Rate == 0:
		return errors.New("impair: queue limit needs a rate (a queue only fills when the link is slower than its input)")
	case c.CorruptBits < 0 || c.CorruptBits > MaxCorruptBits:
		return fmt.Errorf("impair: corrupt bits %d out of range [0, %d]", c.CorruptBits, MaxCorruptBits)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"loss", c.Loss}, {"reorder", c.Reorder}, {"duplicate", c.Duplicate}, {"corrupt", c.Corrupt},
		{"ge p (good→bad)", c.GE.P}, {"ge r (bad→good)", c.GE.R},
		{"ge loss-in-good", c.GE.LossGood}, {"ge loss-in-bad", c.GE.LossBad},
	} {
		if err := checkProb(p.name, p.v); err != nil {
			return err
		}
	}
	if c.GE.Enabled() && c.GE.LossGood == 0 && c.GE.LossBad == 0 {
		return errors.New("impair: ge loses nothing: loss-in-good and loss-in-bad are both 0")
	}
	if c.Reorder > 0 && c.Delay == 0 && c.ReorderGap == 0 && !c.JitterReorder {
		return errors.New("impair: reorder needs a delay to skip (set delay or reordergap)")
	}
	return nil
}

// String formats c in the ParseSpec syntax; ParseSpec(c.String()) == c.
// Only non-zero fields are written; the zero Config gives "".
func (c Config) String() string {
	var sb strings.Builder
	add := func(k, v string) {
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(v)
	}
	if c.Delay != 0 {
		add("delay", c.Delay.String())
	}
	if c.Jitter != 0 {
		add("jitter", c.Jitter.String())
	}
	if c.JitterReorder {
		add("jitterreorder", "true")
	}
	if c.Rate != 0 {
		add("rate", formatRate(c.Rate))
	}
	if c.QueueLimit != 0 {
		add("queue", formatBytes(c.QueueLimit))
	}
	if c.Loss != 0 {
		add("loss", formatProb(c.Loss))
	}
	if c.GE.Enabled() {
		add("ge", formatProb(c.GE.P)+"/"+formatProb(c.GE.R)+"/"+formatProb(c.GE.LossGood)+"/"+formatProb(c.GE.LossBad))
	}
	if c.Reorder != 0 {
		add("reorder", formatProb(c.Reorder))
	}
	if c.ReorderGap != 0 {
		add("reordergap", c.ReorderGap.String())
	}
	if c.Duplicate != 0 {
		add("dup", formatProb(c.Duplicate))
	}
	if c.Corrupt != 0 {
		add("corrupt", formatProb(c.Corrupt))
	}
	if c.CorruptBits != 0 {
		add("corruptbits", strconv.Itoa(c.CorruptBits))
	}
	if c.Seed != 0 {
		add("seed", strconv.FormatUint(c.Seed, 10))
	}
	return sb.String()
}

// formatProb writes p as a percentage when that parses back to exactly p,
// and as a plain probability otherwise.
func formatProb(p float64) string {
	s := strconv.FormatFloat(p*100, 'g', -1, 64) + "%"
	if q, err := parseProb(s); err == nil && q == p {
		return s
	}
	return strconv.FormatFloat(p, 'g', -1, 64)
}

var rateUnits = []struct {
	name string
	mult uint64
}{{"tbit", 1e12}, {"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}

func formatRate(r uint64) string {
	for _, u := range rateUnits {
		if r%u.mult == 0 {
			return strconv.FormatUint(r/u.mult, 10) + u.name
		}
	}
	return strconv.FormatUint(r, 10) + "bit"
}

var byteUnits = []struct {
	name string
	mult int
}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"b", 1}}

func formatBytes(n int) string {
	for _, u := range byteUnits {
		if n%u.mult == 0 {
			return strconv.Itoa(n/u.mult) + u.name
		}
	}
	return strconv.Itoa(n) + "b"
}

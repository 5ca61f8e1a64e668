package impair

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// ParseSpec parses a comma-separated list of key=value impairments, any
// subset, in any order, each key at most once. Keys and values:
//
//	delay=5ms          Delay (a time.ParseDuration string)
//	jitter=1ms         Jitter
//	jitterreorder=true JitterReorder (true/false)
//	rate=100mbit       Rate: a number with bit, kbit, mbit, gbit or tbit
//	                   (decimal multiples); a bare number is bits/s
//	queue=64kb         QueueLimit: a number with b, kb, mb or gb (binary
//	                   multiples: 1kb = 1024 bytes); a bare number is bytes
//	loss=0.5%          Loss: a percentage, or a probability without '%'
//	ge=p/r/lg/lb       GE: P, R, LossGood, LossBad, each as for loss;
//	                   ge=p/r is short for ge=p/r/0/100%
//	reorder=1%         Reorder
//	reordergap=2ms     ReorderGap (alias gap)
//	dup=0.2%           Duplicate (alias duplicate)
//	corrupt=0.1%       Corrupt
//	corruptbits=3      CorruptBits
//	seed=42            Seed
//
// The empty string and "none" are the zero Config. Errors name the bad key.
// The result is validated.
func ParseSpec(s string) (Config, error) {
	var c Config
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return c, nil
	}
	seen := make(map[string]bool)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		k, v, ok := strings.Cut(item, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return Config{}, fmt.Errorf("impair: spec item %q is not key=value", item)
		}
		switch k {
		case "gap":
			k = "reordergap"
		case "duplicate":
			k = "dup"
		}
		if seen[k] {
			return Config{}, fmt.Errorf("impair: key %q given twice", k)
		}
		seen[k] = true
		if err := c.set(k, v); err != nil {
			return Config{}, fmt.Errorf("impair: key %q: %w", k, err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c *Config) set(k, v string) error {
	var err error
	switch k {
	case "delay":
		c.Delay, err = parseDur(v)
	case "jitter":
		c.Jitter, err = parseDur(v)
	case "reordergap":
		c.ReorderGap, err = parseDur(v)
	case "jitterreorder":
		c.JitterReorder, err = strconv.ParseBool(v)
	case "rate":
		c.Rate, err = parseRate(v)
	case "queue":
		c.QueueLimit, err = parseBytes(v)
	case "loss":
		c.Loss, err = parseProb(v)
	case "reorder":
		c.Reorder, err = parseProb(v)
	case "dup":
		c.Duplicate, err = parseProb(v)
	case "corrupt":
		c.Corrupt, err = parseProb(v)
	case "corruptbits":
		c.CorruptBits, err = strconv.Atoi(v)
		if err == nil && (c.CorruptBits < 1 || c.CorruptBits > MaxCorruptBits) {
			err = fmt.Errorf("%d out of range [1, %d]", c.CorruptBits, MaxCorruptBits)
		}
	case "seed":
		c.Seed, err = strconv.ParseUint(v, 0, 64)
	case "ge":
		c.GE, err = parseGE(v)
	default:
		return fmt.Errorf("unknown key (want delay, jitter, jitterreorder, rate, queue, loss, ge, reorder, reordergap, dup, corrupt, corruptbits, seed)")
	}
	return err
}

func parseDur(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %v is negative", d)
	}
	return d, nil
}

// parseProb takes "0.5%" (a percentage) or "0.005" (a probability).
func parseProb(v string) (float64, error) {
	pct := strings.HasSuffix(v, "%")
	if pct {
		v = strings.TrimSuffix(v, "%")
	}
	p, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", v)
	}
	if pct {
		p /= 100
	}
	if math.IsNaN(p) || p < 0 || p > 1 {
		return 0, fmt.Errorf("probability %v out of range [0, 1] (0%%..100%%)", p)
	}
	return p, nil
}

// splitUnit splits "100mbit" into 100 and "mbit".
func splitUnit(v string) (float64, string, error) {
	i := len(v)
	for i > 0 && (v[i-1] < '0' || v[i-1] > '9') && v[i-1] != '.' {
		i--
	}
	n, err := strconv.ParseFloat(v[:i], 64)
	if err != nil || n < 0 || math.IsInf(n, 0) {
		return 0, "", fmt.Errorf("bad number in %q", v)
	}
	return n, strings.ToLower(v[i:]), nil
}

func parseRate(v string) (uint64, error) {
	n, unit, err := splitUnit(v)
	if err != nil {
		return 0, err
	}
	mult := uint64(0)
	if unit == "" {
		mult = 1
	}
	for _, u := range rateUnits {
		if unit == u.name {
			mult = u.mult
		}
	}
	if mult == 0 {
		return 0, fmt.Errorf("unknown rate unit %q (want bit, kbit, mbit, gbit, tbit)", unit)
	}
	num := v[:len(v)-len(unit)]
	if !strings.ContainsAny(num, ".eE") {
		// Whole numbers are parsed exactly (a float64 would round rates
		// above 2^53).
		i, err := strconv.ParseUint(num, 10, 64)
		hi, lo := bits.Mul64(i, mult)
		if err != nil || hi != 0 || lo >= 1<<63 {
			return 0, fmt.Errorf("rate %q is not a whole number of bits/s below 2^63", v)
		}
		return lo, nil
	}
	r := n * float64(mult)
	if r >= 1<<63 || r != math.Trunc(r) {
		return 0, fmt.Errorf("rate %q is not a whole number of bits/s below 2^63", v)
	}
	return uint64(r), nil
}

func parseBytes(v string) (int, error) {
	n, unit, err := splitUnit(v)
	if err != nil {
		return 0, err
	}
	mult := 0
	switch unit {
	case "", "b":
		mult = 1
	case "k", "kib":
		mult = 1 << 10
	case "m", "mib":
		mult = 1 << 20
	case "g", "gib":
		mult = 1 << 30
	}
	for _, u := range byteUnits {
		if unit == u.name {
			mult = u.mult
		}
	}
	if mult == 0 {
		return 0, fmt.Errorf("unknown size unit %q (want b, kb, mb, gb)", unit)
	}
	r := n * float64(mult)
	if r > math.MaxInt32 || r != math.Trunc(r) {
		return 0, fmt.Errorf("size %q is not a whole number of bytes up to 2^31-1", v)
	}
	return int(r), nil
}

func parseGE(v string) (GilbertElliott, error) {
	parts := strings.Split(v, "/")
	if len(parts) != 2 && len(parts) != 4 {
		return GilbertElliott{}, fmt.Errorf("want p/r or p/r/lossgood/lossbad, got %q", v)
	}
	var f [4]float64
	f[3] = 1
	for i, s := range parts {
		p, err := parseProb(strings.TrimSpace(s))
		if err != nil {
			return GilbertElliott{}, fmt.Errorf("field %d: %w", i+1, err)
		}
		f[i] = p
	}
	return GilbertElliott{P: f[0], R: f[1], LossGood: f[2], LossBad: f[3]}, nil
}

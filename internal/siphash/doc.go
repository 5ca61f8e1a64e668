// Package siphash is SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", 2012): the keyed hash behind TCP's initial sequence
// numbers, timestamp offsets, ephemeral port choice and SYN cookies.
//
// It is written from the paper's description of the algorithm: the state
// v0..v3 initialized from the 128-bit key and the constants
// "somepseudorandomlygeneratedbytes", c = 2 SipRounds per 8-byte
// little-endian message word, the final word carrying the message length
// mod 256 in its top byte, then d = 4 rounds after v2 ^= 0xff.
package siphash

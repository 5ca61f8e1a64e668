package capture_test

import (
	"encoding/binary"
	"fmt"
)

// A small, strict pcapng reader for the tests: it checks every length,
// alignment and trailing length, and knows the blocks and options the
// capture writes.

type pcapFile struct {
	major, minor uint16
	sectionLen   int64
	userApp      string
	ifaces       []pcapIface
	packets      []pcapPacket
}

type pcapIface struct {
	linkType uint16
	snaplen  uint32
	name     string
	desc     string
	tsresol  byte
	haveRes  bool
}

type pcapPacket struct {
	iface   uint32
	ts      uint64
	capLen  uint32
	origLen uint32
	data    []byte
	flags   uint32
	hasFlag bool
}

type option struct {
	code uint16
	val  []byte
}

func parseOptions(b []byte) ([]option, error) {
	var opts []option
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("truncated option header (%d bytes left)", len(b))
		}
		code, n := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		b = b[4:]
		if code == 0 {
			if n != 0 {
				return nil, fmt.Errorf("opt_endofopt with length %d", n)
			}
			if len(b) != 0 {
				return nil, fmt.Errorf("%d bytes after opt_endofopt", len(b))
			}
			return opts, nil
		}
		padded := (n + 3) &^ 3
		if padded > len(b) {
			return nil, fmt.Errorf("option %d length %d overruns the block", code, n)
		}
		for _, z := range b[n:padded] {
			if z != 0 {
				return nil, fmt.Errorf("option %d padding not zero", code)
			}
		}
		opts = append(opts, option{code, b[:n]})
		b = b[padded:]
	}
	return nil, fmt.Errorf("options not terminated by opt_endofopt")
}

func parsePcapng(b []byte) (*pcapFile, error) {
	le := binary.LittleEndian
	f := &pcapFile{}
	first := true
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			return nil, fmt.Errorf("offset %d: truncated block header", off)
		}
		typ, total := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if total < 12 || total%4 != 0 || off+total > len(b) {
			return nil, fmt.Errorf("offset %d: block type %#x bad total length %d", off, typ, total)
		}
		if trail := int(le.Uint32(b[off+total-4:])); trail != total {
			return nil, fmt.Errorf("offset %d: trailing length %d != leading %d", off, trail, total)
		}
		body := b[off+8 : off+total-4]
		if first && typ != 0x0A0D0D0A {
			return nil, fmt.Errorf("first block is %#x, not a Section Header Block", typ)
		}
		first = false
		switch typ {
		case 0x0A0D0D0A:
			if len(body) < 16 || le.Uint32(body) != 0x1A2B3C4D {
				return nil, fmt.Errorf("SHB: bad byte-order magic")
			}
			f.major, f.minor = le.Uint16(body[4:]), le.Uint16(body[6:])
			f.sectionLen = int64(le.Uint64(body[8:]))
			opts, err := parseOptions(body[16:])
			if err != nil {
				return nil, fmt.Errorf("SHB: %w", err)
			}
			for _, o := range opts {
				if o.code == 4 {
					f.userApp = string(o.val)
				}
			}
		case 1:
			if len(body) < 8 {
				return nil, fmt.Errorf("IDB too short")
			}
			ifc := pcapIface{linkType: le.Uint16(body), snaplen: le.Uint32(body[4:])}
			if le.Uint16(body[2:]) != 0 {
				return nil, fmt.Errorf("IDB reserved field not zero")
			}
			opts, err := parseOptions(body[8:])
			if err != nil {
				return nil, fmt.Errorf("IDB: %w", err)
			}
			for _, o := range opts {
				switch o.code {
				case 2:
					ifc.name = string(o.val)
				case 3:
					ifc.desc = string(o.val)
				case 9:
					if len(o.val) != 1 {
						return nil, fmt.Errorf("if_tsresol length %d", len(o.val))
					}
					ifc.tsresol, ifc.haveRes = o.val[0], true
				}
			}
			f.ifaces = append(f.ifaces, ifc)
		case 6:
			if len(body) < 20 {
				return nil, fmt.Errorf("EPB too short")
			}
			p := pcapPacket{
				iface:   le.Uint32(body),
				ts:      uint64(le.Uint32(body[4:]))<<32 | uint64(le.Uint32(body[8:])),
				capLen:  le.Uint32(body[12:]),
				origLen: le.Uint32(body[16:]),
			}
			if int(p.iface) >= len(f.ifaces) {
				return nil, fmt.Errorf("EPB for undeclared interface %d", p.iface)
			}
			padded := (int(p.capLen) + 3) &^ 3
			if 20+padded > len(body) || p.capLen > p.origLen || p.capLen > f.ifaces[p.iface].snaplen {
				return nil, fmt.Errorf("EPB lengths: cap %d orig %d block body %d snaplen %d", p.capLen, p.origLen, len(body), f.ifaces[p.iface].snaplen)
			}
			p.data = body[20 : 20+p.capLen]
			for _, z := range body[20+p.capLen : 20+padded] {
				if z != 0 {
					return nil, fmt.Errorf("EPB packet padding not zero")
				}
			}
			opts, err := parseOptions(body[20+padded:])
			if err != nil {
				return nil, fmt.Errorf("EPB: %w", err)
			}
			for _, o := range opts {
				if o.code == 2 {
					if len(o.val) != 4 {
						return nil, fmt.Errorf("epb_flags length %d", len(o.val))
					}
					p.flags, p.hasFlag = le.Uint32(o.val), true
				}
			}
			f.packets = append(f.packets, p)
		default:
			return nil, fmt.Errorf("offset %d: unexpected block type %#x", off, typ)
		}
		off += total
	}
	if first {
		return nil, fmt.Errorf("empty file")
	}
	return f, nil
}

package afpacket

import (
	"encoding/binary"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/tap/vnet"
)

// Recv copies up to len(bufs) frames out of the RX ring into pool
// buffers. It makes no system call (unless a failed TX kick is due).
func (l *Link) Recv(bufs []*link.Buf) int {
	if len(bufs) == 0 || !l.rxGate.enter() {
		return 0
	}
	var n int
	if l.v3 {
		n = l.recvV3(bufs)
	} else {
		n = l.recvV2(bufs)
	}
	l.rxGate.leave()
	if l.kickDue && l.txGate.enter() {
		l.kick()
		l.txGate.leave()
	}
	return n
}

func (l *Link) recvV2(bufs []*link.Buf) int {
	n, bytes := 0, 0
	for n < len(bufs) {
		off := l.rxHead * l.frameSize
		st := loadStatus(l.rx, off+v2Status)
		if st&stUser == 0 {
			break
		}
		slot := l.rx[off : off+l.frameSize]
		b, stall := l.take(slot, st, int(u32(slot, v2Len)), int(u32(slot, v2Snaplen)), int(u16(slot, v2Mac)),
			u16(slot, v2VlanTCI), u16(slot, v2VlanTP), slot[v2HdrSize+sllPkttype])
		if stall {
			break
		}
		if b != nil {
			bufs[n] = b
			bytes += b.Len()
			n++
		}
		storeStatus(l.rx, off+v2Status, stKernel)
		l.rxHead++
		if l.rxHead == l.rxFrames {
			l.rxHead = 0
		}
	}
	l.count(n, bytes)
	return n
}

func (l *Link) recvV3(bufs []*link.Buf) int {
	n, bytes := 0, 0
	for n < len(bufs) {
		base := l.rxHead * l.blockSize
		blk := l.rx[base : base+l.blockSize]
		if loadStatus(blk, blkStatus)&stUser == 0 {
			break
		}
		num := int(u32(blk, blkNum))
		if l.blkIdx == 0 {
			l.blkOff = int(u32(blk, blkFirst))
		}
		for l.blkIdx < num && n < len(bufs) {
			p := l.blkOff
			if p < 0 || p+v3HdrSize+sllSize > len(blk) {
				l.rxErrors.Add(uint64(num - l.blkIdx))
				l.blkIdx = num
				break
			}
			pkt := blk[p:]
			b, stall := l.take(pkt, u32(pkt, v3Status), int(u32(pkt, v3Len)), int(u32(pkt, v3Snaplen)), int(u16(pkt, v3Mac)),
				uint16(u32(pkt, v3VlanTCI)), u16(pkt, v3VlanTP), pkt[v3HdrSize+sllPkttype])
			if stall {
				l.count(n, bytes)
				return n
			}
			if b != nil {
				bufs[n] = b
				bytes += b.Len()
				n++
			}
			l.blkIdx++
			l.blkOff += int(u32(pkt, v3Next))
		}
		if l.blkIdx < num {
			break // bufs full mid-block: resume here next time
		}
		l.blkIdx = 0
		storeStatus(blk, blkStatus, stKernel)
		l.rxHead++
		if l.rxHead == l.rxBlocks {
			l.rxHead = 0
		}
	}
	l.count(n, bytes)
	return n
}

func (l *Link) count(n, bytes int) {
	if n > 0 {
		l.rxFrames64.Add(uint64(n))
		l.rxBytes.Add(uint64(bytes))
	}
}

// take copies one frame out of a ring slot (slot starts at the ring
// header; the frame at mac) into a pool buffer, or returns nil and counts
// why it did not. stall reports an empty pool: the frame stays in the
// ring (the kernel drops, and counts, what no longer fits).
func (l *Link) take(slot []byte, st uint32, length, snap, mac int, tci, tpid uint16, pkttype byte) (b *link.Buf, stall bool) {
	if pkttype == pktOutgoing {
		return nil, false
	}
	if snap < length || mac+snap > len(slot) || snap < 14 || (l.vnet && mac < vnet.Len) {
		l.rxErrors.Add(1) // truncated by the slot, or nonsense
		return nil, false
	}
	if b = l.pool.Get(); b == nil {
		return nil, true
	}
	frame := slot[mac : mac+snap]
	extra := 0
	if st&stVlanValid != 0 {
		extra = 4
	}
	d := b.Extend(snap + extra)
	if d == nil {
		b.Free()
		l.rxErrors.Add(1)
		return nil, false
	}
	if extra == 0 {
		copy(d, frame)
	} else {
		// The kernel took the 802.1Q tag out into the header: put it back.
		if st&stVlanTPValid == 0 || tpid == 0 {
			tpid = 0x8100
		}
		copy(d, frame[:12])
		binary.BigEndian.PutUint16(d[12:], tpid)
		binary.BigEndian.PutUint16(d[14:], tci)
		copy(d[16:], frame[12:])
	}
	switch {
	case l.vnet:
		h, _ := vnet.Decode(slot[mac-vnet.Len : mac])
		if extra != 0 && h.Flags&vnet.FlagNeedsCsum != 0 {
			h.CsumStart += 4
		}
		if err := vnet.Apply(h, b); err != nil {
			b.Free()
			l.rxErrors.Add(1)
			return nil, false
		}
	case st&stCsumNotRdy != 0:
		// Sent from this host with checksum offload: the transport
		// checksum holds only the pseudo-header sum. Finish it.
		if start, _, off, ok := vnet.L4(d); ok && vnet.Complete(d, start, off) {
			b.Flags |= link.FlagCsumValid
		}
	}
	if st&stCsumValid != 0 {
		b.Flags |= link.FlagCsumValid
	}
	return b, false
}

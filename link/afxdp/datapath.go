package afxdp

import (
	"github.com/ustack/ustack/link"
	"golang.org/x/sys/unix"
)

// maxKicks bounds the sendto calls one flush makes: in copy mode the
// kernel transmits at most a small batch (32 frames) per call and answers
// EAGAIN while more remain.
const maxKicks = 64

// Recv copies up to len(bufs) received frames out of their UMEM frames
// into Bufs from the link's pool and gives the UMEM frames straight back
// to the fill ring. A frame that finds the pool empty is dropped (counted
// in Stats.RxDropped). It never blocks.
func (l *Link) Recv(bufs []*link.Buf) int {
	if len(bufs) == 0 || !l.state.CompareAndSwap(stateIdle, stateBusy) {
		return 0
	}
	if l.kickPending {
		l.kick()
	}
	n := l.rx.avail(uint32(len(bufs)))
	if n == 0 {
		if l.needWakeup && l.fill.needWakeup() {
			kickRX(l.fd)
		}
		l.state.Store(stateIdle)
		return 0
	}
	// Every RX frame is on the fill ring, on the RX ring, or here; the
	// fill ring holds them all, so it has room for the n given back.
	got, bytes, dropped, bad := 0, 0, 0, 0
	umemLen := uint64(len(l.umem))
	for i := range n {
		d := &l.rx.descs[(l.rx.local+i)&l.rx.mask]
		addr, ln := d.Addr, uint64(d.Len)
		l.fill.addrs[(l.fill.local+i)&l.fill.mask] = addr & l.frameMask
		if addr >= umemLen || ln > umemLen-addr {
			bad++
			continue
		}
		b := l.pool.Get()
		if b == nil {
			dropped++
			continue
		}
		dst := b.Extend(int(ln))
		if dst == nil {
			b.Free()
			bad++
			continue
		}
		copy(dst, l.umem[addr:addr+ln])
		bufs[got] = b
		got++
		bytes += int(ln)
	}
	l.rx.release(n)
	l.fill.publish(n)
	if l.needWakeup && l.fill.needWakeup() {
		kickRX(l.fd)
	}
	l.state.Store(stateIdle)
	c := &l.counter
	if got > 0 {
		c.rxFrames.Add(uint64(got))
		c.rxBytes.Add(uint64(bytes))
	}
	if dropped > 0 {
		c.rxDropped.Add(uint64(dropped))
	}
	if bad > 0 {
		c.rxErrors.Add(uint64(bad))
	}
	return got
}

// Send copies a prefix of bufs into idle UMEM TX frames, posts them on the
// TX ring, frees the Bufs and, when the kernel asks for it (need-wakeup),
// kicks it with sendto. It stops early when no TX frame is idle (counted
// in Stats.TxDropped; retry later) or at a frame that is nil, empty or
// longer than MaxFrame (counted in Stats.TxErrors; it will be refused
// every time, so Free it).
func (l *Link) Send(bufs []*link.Buf) int {
	if len(bufs) == 0 || !l.state.CompareAndSwap(stateIdle, stateBusy) {
		return 0
	}
	l.reclaim()
	room := min(uint32(len(l.txFree)), l.tx.free(uint32(len(bufs))), uint32(len(bufs)))
	n, bytes, bad := uint32(0), 0, false
	for ; n < room; n++ {
		b := bufs[n]
		if b == nil || b.Len() == 0 || b.Len() > l.maxFrame {
			bad = true
			break
		}
		top := len(l.txFree) - 1
		addr := l.txFree[top]
		l.txFree = l.txFree[:top]
		ln := copy(l.umem[addr:addr+l.frameSize], b.Bytes())
		d := &l.tx.descs[(l.tx.local+n)&l.tx.mask]
		d.Addr, d.Len, d.Options = addr, uint32(ln), 0
		bytes += ln
	}
	if n > 0 {
		l.tx.publish(n)
		for _, b := range bufs[:n] {
			b.Free()
		}
		l.kick()
	}
	l.state.Store(stateIdle)
	c := &l.counter
	if n > 0 {
		c.txFrames.Add(uint64(n))
		c.txBytes.Add(uint64(bytes))
	}
	if refused := len(bufs) - int(n); refused > 0 {
		if bad {
			c.txErrors.Add(1)
			refused--
		}
		if refused > 0 {
			c.txDropped.Add(uint64(refused))
		}
	}
	return int(n)
}

// reclaim moves transmitted frames from the completion ring back to the
// idle stack.
func (l *Link) reclaim() {
	n := l.comp.avail(l.comp.size)
	for i := range n {
		l.txFree = append(l.txFree, l.comp.addrs[(l.comp.local+i)&l.comp.mask]&l.frameMask)
	}
	if n > 0 {
		l.comp.release(n)
	}
}

// kick asks the kernel to transmit the TX ring when it wants to be asked:
// always without need-wakeup, only while the ring's flag is up with it.
// In copy mode the kernel sends a batch per call and answers EAGAIN while
// frames remain; a flush that gives up before the ring is empty is
// finished by the next Recv or Send.
func (l *Link) kick() {
	l.kickPending = false
	for range maxKicks {
		if l.needWakeup && !l.tx.needWakeup() {
			return
		}
		switch kickTX(l.fd) {
		case 0:
			return // copy mode: all sent; zero-copy: the driver is awake
		case unix.EAGAIN, unix.EBUSY:
			l.reclaim() // a full completion ring also answers EAGAIN
		case unix.ENOBUFS:
			l.kickPending = true // no skb now; try on the next call
			return
		default:
			// ENETDOWN, ENXIO: the device is gone or down; frames stay
			// in the ring until it comes back or the link closes.
			l.kickPending = l.tx.outstanding() > 0
			return
		}
	}
	l.kickPending = l.tx.outstanding() > 0
}

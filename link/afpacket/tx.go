package afpacket

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/tap/vnet"
)

// Send copies frames into the TX ring and kicks the kernel once. It
// takes every frame it reports: malformed ones (too short, too long, or
// with offload flags the link cannot honour) are freed and counted in
// TxErrors. It stops, keeping the rest with the caller, when the ring is
// full.
func (l *Link) Send(bufs []*link.Buf) int {
	if len(bufs) == 0 || !l.txGate.enter() {
		return 0
	}
	data := v2TxData
	stOff, lenOff := v2Status, v2Len
	if l.v3 {
		data, stOff, lenOff = v3TxData, v3Status, v3Len
	}
	n, queued, bytes := 0, 0, 0
	for ; n < len(bufs); n++ {
		b := bufs[n]
		if b == nil {
			break
		}
		off := l.txHead * l.frameSize
		st := loadStatus(l.tx, off+stOff)
		if st&(stSendRequest|stSending) != 0 {
			break // ring full
		}
		if st&stWrongFormat != 0 {
			l.txErrors.Add(1)
		}
		slot := l.tx[off : off+l.frameSize]
		w, ok := l.fill(slot[data:], b)
		if !ok {
			l.txErrors.Add(1)
			b.Free()
			continue
		}
		if l.v3 {
			*(*uint32)(unsafe.Pointer(&slot[v3Next])) = 0
		}
		*(*uint32)(unsafe.Pointer(&slot[lenOff])) = uint32(w)
		storeStatus(l.tx, off+stOff, stSendRequest)
		l.txHead++
		if l.txHead == l.txFrames {
			l.txHead = 0
		}
		queued++
		bytes += b.Len()
		b.Free()
	}
	if queued > 0 || l.kickDue {
		l.kick()
	}
	l.txGate.leave()
	if queued > 0 {
		l.txFrames64.Add(uint64(queued))
		l.txBytes.Add(uint64(bytes))
	}
	if rest := len(bufs) - n; rest > 0 {
		l.txDropped.Add(uint64(rest))
	}
	return n
}

// fill writes b (with its vnet header when enabled) into a TX slot's data
// area and returns the length to put in tp_len.
func (l *Link) fill(dst []byte, b *link.Buf) (int, bool) {
	f := b.Bytes()
	if len(f) < 14 || len(f) > l.maxTx {
		return 0, false
	}
	if l.vnet {
		h, err := vnet.FromBuf(b)
		if err != nil {
			return 0, false
		}
		h.Encode(dst)
		return vnet.Len + copy(dst[vnet.Len:], f), true
	}
	if b.Flags&link.FlagGSO != 0 {
		return 0, false // nobody to cut it without a vnet header
	}
	w := copy(dst, f)
	if b.Flags&link.FlagCsumPartial != 0 {
		start, _, off, ok := vnet.L4(dst[:w])
		if !ok || !vnet.Complete(dst[:w], start, off) {
			return 0, false
		}
	}
	return w, true
}

// kick asks the kernel to send every slot marked SEND_REQUEST; it does not
// wait for them to leave.
func (l *Link) kick() {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(l.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0:
		l.kickDue = false
	case syscall.EAGAIN, syscall.ENOBUFS, syscall.EINTR:
		l.kickDue = true
	default:
		l.kickDue = false
		l.txErrors.Add(1)
	}
}

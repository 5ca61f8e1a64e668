package afpacket

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// Ring header layouts (include/uapi/linux/if_packet.h). Offsets in bytes.
const (
	tpAlign = 16 // TPACKET_ALIGNMENT

	// struct tpacket2_hdr: 32 bytes, then struct sockaddr_ll.
	v2Status  = 0
	v2Len     = 4
	v2Snaplen = 8
	v2Mac     = 12
	v2VlanTCI = 24
	v2VlanTP  = 26
	v2HdrSize = 32
	// TX data starts at TPACKET2_HDRLEN - sizeof(sockaddr_ll).
	v2TxData = v2HdrSize

	// struct tpacket3_hdr: 48 bytes, then struct sockaddr_ll.
	v3Next    = 0
	v3Snaplen = 12
	v3Len     = 16
	v3Status  = 20
	v3Mac     = 24
	v3VlanTCI = 32
	v3VlanTP  = 36
	v3HdrSize = 48
	v3TxData  = v3HdrSize

	// struct tpacket_block_desc: version, offset_to_priv, then
	// tpacket_hdr_v1 { block_status, num_pkts, offset_to_first_pkt, ... }.
	blkStatus = 8
	blkNum    = 12
	blkFirst  = 16

	// struct sockaddr_ll field sll_pkttype.
	sllPkttype = 10
	sllSize    = 20
)

// Status bits (TP_STATUS_*).
const (
	stKernel      = 0
	stUser        = 1
	stLosing      = 1 << 2
	stCsumNotRdy  = 1 << 3
	stVlanValid   = 1 << 4
	stVlanTPValid = 1 << 6
	stCsumValid   = 1 << 7

	stAvailable   = 0
	stSendRequest = 1
	stSending     = 2
	stWrongFormat = 4
)

const pktOutgoing = 4 // PACKET_OUTGOING

func status(p []byte, off int) *uint32 {
	return (*uint32)(unsafe.Pointer(&p[off]))
}

func loadStatus(p []byte, off int) uint32     { return atomic.LoadUint32(status(p, off)) }
func storeStatus(p []byte, off int, v uint32) { atomic.StoreUint32(status(p, off), v) }

func u32(p []byte, off int) uint32 { return binary.NativeEndian.Uint32(p[off:]) }
func u16(p []byte, off int) uint16 { return binary.NativeEndian.Uint16(p[off:]) }

func alignUp(n, a int) int { return (n + a - 1) &^ (a - 1) }

package wire_test

import (
	"fmt"

	"github.com/ustack/ustack/wire"
)

func ExampleTCPOptions_Encode() {
	// A Linux SYN's options: mss, sackOK, TS val ecr, nop, wscale.
	o := wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 1, HasWScale: true, WScale: 7}
	b := make([]byte, wire.TCPMaxOptionsLen)
	n, _ := o.Encode(b)
	fmt.Printf("% x\n", b[:n])
	// Output: 02 04 05 b4 04 02 08 0a 00 00 00 01 00 00 00 00 01 03 03 07
}

func ExamplePutTCP() {
	src, dst := [4]byte{10, 0, 0, 2}, [4]byte{10, 0, 0, 1}
	h := wire.TCPHeader{SrcPort: 80, DstPort: 40000, Seq: 1000, Ack: 2001, Flags: wire.TCPFlagSYN | wire.TCPFlagACK, Window: 65160}
	o := wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 7, TSEcr: 5, HasWScale: true, WScale: 7}
	seg := make([]byte, 60)
	n, err := wire.PutTCP(seg, &h, &o)
	if err != nil {
		panic(err)
	}
	seg = seg[:n] // no payload
	wire.TCP(seg).SetChecksum4(src, dst)

	t, _ := wire.ParseTCP(seg)
	var got wire.TCPOptions
	_ = wire.ParseTCPOptions(t.Options(), &got)
	fmt.Printf("%d > %d [%v] seq %d ack %d win %d, mss %d, sackOK %v, TS val %d ecr %d, wscale %d, cksum ok %v\n",
		t.SrcPort(), t.DstPort(), t.Flags(), t.Seq(), t.Ack(), t.Window(),
		got.MSS, got.SACKPermitted, got.TSVal, got.TSEcr, got.WScale, t.ChecksumValid4(src, dst))
	// Output: 80 > 40000 [S.] seq 1000 ack 2001 win 65160, mss 1460, sackOK true, TS val 7 ecr 5, wscale 7, cksum ok true
}

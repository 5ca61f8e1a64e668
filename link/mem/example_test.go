package mem_test

import (
	"fmt"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
)

func ExamplePair() {
	a, b := mem.Pair(mem.WithRingSize(256))
	defer a.Close()

	// Build a frame in a buffer from the sender's pool and send it.
	f := a.Pool().Get()
	copy(f.Extend(14), []byte{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5})
	if a.Send([]*link.Buf{f}) != 1 {
		f.Free() // refused: still ours
	}

	// Sleep until a frame arrives (it already has: Arm says so).
	wake := make(chan struct{}, 1)
	if b.Arm(wake) {
		<-wake
	}
	in := make([]*link.Buf, 32)
	n := b.Recv(in)
	fmt.Println(n, in[0] == f, in[0].Len())
	in[0].Free() // back into a's pool
	fmt.Println(a.Pool().InUse())
	// Output:
	// 1 true 14
	// 0
}

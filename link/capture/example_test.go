package capture_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/capture"
	"github.com/ustack/ustack/link/mem"
)

func ExampleNew() {
	a, b := mem.Pair()
	var file bytes.Buffer // an *os.File in real use
	virtual := time.Unix(0, 0)
	c, err := capture.New(a, &file, capture.WithName("mem0"),
		capture.WithClock(func() time.Time { return virtual }))
	if err != nil {
		panic(err)
	}
	f := c.Pool().Get()
	f.Extend(60)
	c.Send([]*link.Buf{f}) // recorded as outbound
	in := make([]*link.Buf, 8)
	for _, x := range in[:b.Recv(in)] {
		x.Free()
	}
	if err := c.Close(); err != nil { // flushes, closes a and b
		panic(err)
	}
	fmt.Println(c.CaptureStats().Frames, file.Len() > 0)
	// Output: 1 true
}

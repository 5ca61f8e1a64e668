package spec_test

import (
	"fmt"

	"github.com/ustack/ustack/link/spec"
)

func ExampleParse() {
	for _, s := range []string{"tap:tap0", "afxdp:eth1:2", "afpacket:"} {
		sp, err := spec.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: kind %s, name %s, queue %d\n", sp, sp.Kind, sp.Name, sp.Queue)
	}
	// Output:
	// tap:tap0: kind tap, name tap0, queue 0
	// afxdp:eth1:2: kind afxdp, name eth1, queue 2
	// bad link spec "afpacket:": afpacket needs an interface name, as in afpacket:eth0 (accepted forms: mem, tap:NAME, afpacket:IFACE, afxdp:IFACE[:QUEUE])
}

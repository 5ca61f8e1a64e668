package spec

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afpacket"
	"github.com/ustack/ustack/link/afxdp"
	"github.com/ustack/ustack/link/tap"
)

// MaxQueues bounds OpenQueues' n: a stack runs at most 256 shards.
const MaxQueues = 256

// OpenQueues makes n links that are queues of the one device s names,
// for a stack with one shard per queue (ustack.Config.Link is the first,
// Config.Queues the rest). All of them have the same hardware address.
//
//   - tap:NAME opens n queues of a multi-queue TAP device (created if it
//     does not exist; an existing one must have been made multi_queue).
//   - afpacket:IFACE opens n AF_PACKET sockets joined in one
//     PACKET_FANOUT hash group, with a group id unique to this process.
//   - afxdp:IFACE[:Q] opens one AF_XDP socket on each of the queues Q to
//     Q+n-1, which the interface must have (see `ethtool -l IFACE`); they
//     share the one XDP program link/afxdp attaches to the interface.
//   - mem is refused: both ends of in-memory queues are needed, so use
//     link/mem's NewQueues in code.
//
// n == 1 is OpenWith. On error every link opened so far is closed.
func OpenQueues(s Spec, n int, o Options) ([]link.Link, error) {
	if n < 1 || n > MaxQueues {
		return nil, fmt.Errorf("link %s: %d queues: the count must be in [1, %d]", s, n, MaxQueues)
	}
	if n == 1 {
		l, err := OpenWith(s, o)
		if err != nil {
			return nil, err
		}
		return []link.Link{l}, nil
	}
	switch s.Kind {
	case Mem:
		return nil, fmt.Errorf("link %s: %w: %d queues of mem are useless without their other ends; use mem.NewQueues(%d) in code", s, ErrUnsupported, n, n)
	case TAP:
		return openTAPQueues(s, n, o)
	case AFPacket:
		return openFanout(s, n, o)
	case AFXDP:
		return openXDPQueues(s, n, o)
	}
	return nil, fmt.Errorf("link %s: %w (accepted forms: %s)", s, ErrSyntax, Forms)
}

func openTAPQueues(s Spec, n int, o Options) ([]link.Link, error) {
	// tap gives each queue a random MAC of its own unless told one; the
	// queues of one stack need one address.
	var mac [6]byte
	if _, err := rand.Read(mac[:]); err != nil {
		return nil, fmt.Errorf("link %s: random MAC: %w", s, err)
	}
	mac[0] = mac[0]&^1 | 2 // unicast, locally administered
	ls, err := tap.OpenQueues(s.Name, n, tap.WithPool(o.Pool), tap.WithHardwareAddr(mac))
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("link %s: %w (for %d shards the device must be multi-queue: delete it, or recreate it with `ip tuntap add dev %s mode tap multi_queue`)", s, err, n, s.Name)
		}
		return nil, fmt.Errorf("link %s: %w", s, err)
	}
	out := make([]link.Link, len(ls))
	for i, l := range ls {
		out[i] = l
	}
	return out, nil
}

// fanoutSeq numbers the fanout groups this process makes; with the pid it
// gives each OpenQueues call its own group id. (A counter shared by the
// whole process is the point: two groups of one process must differ.)
var fanoutSeq atomic.Uint32

// fanoutTries bounds the group ids tried when an id is already taken by
// another group of the namespace (on another device or in another mode).
const fanoutTries = 8

func openFanout(s Spec, n int, o Options) ([]link.Link, error) {
	var err error
	for try := 0; try < fanoutTries; try++ {
		id := uint16(uint32(os.Getpid())*2654435761>>16 + fanoutSeq.Add(1))
		var ls []link.Link
		ls, err = openFanoutGroup(s, n, o, id)
		if err == nil {
			return ls, nil
		}
		if !errors.Is(err, errGroupTaken) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("link %s: no free PACKET_FANOUT group id after %d tries: %w", s, fanoutTries, err)
}

// errGroupTaken: the first member could not create its group because
// the id belongs to another group.
var errGroupTaken = errors.New("fanout group id in use")

func openFanoutGroup(s Spec, n int, o Options, id uint16) ([]link.Link, error) {
	ls := make([]link.Link, 0, n)
	for i := 0; i < n; i++ {
		l, err := afpacket.Open(s.Name, afpacket.WithPool(o.Pool), afpacket.WithFanout(id))
		if err != nil {
			closeAll(ls)
			if i == 0 && errors.Is(err, unix.EINVAL) {
				return nil, fmt.Errorf("%w: %w", errGroupTaken, err)
			}
			return nil, fmt.Errorf("link %s: fanout member %d of %d: %w", s, i, n, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func openXDPQueues(s Spec, n int, o Options) ([]link.Link, error) {
	if len(o.Addrs) == 0 {
		return nil, fmt.Errorf("link %s: %w: AF_XDP needs the stack's address to steer its traffic to the socket", s, ErrUnsupported)
	}
	if have, ok := afxdp.RxQueues(s.Name); ok && s.Queue+n > have {
		return nil, fmt.Errorf("link %s: %d shards need queues %d to %d, but %s has %d rx queues (`ethtool -l %s`; raise them with `ethtool -L %s combined %d`, or for veth create it with numtxqueues %d numrxqueues %d)",
			s, n, s.Queue, s.Queue+n-1, s.Name, have, s.Name, s.Name, s.Queue+n, s.Queue+n, s.Queue+n)
	}
	ls := make([]link.Link, 0, n)
	for i := 0; i < n; i++ {
		q := s.Queue + i
		l, err := afxdp.Open(s.Name, q, afxdp.WithPool(o.Pool), afxdp.WithAddrs(o.Addrs...))
		if err != nil {
			closeAll(ls)
			return nil, fmt.Errorf("link %s: queue %d of %d: %w", s, q, n, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func closeAll(ls []link.Link) {
	for _, l := range ls {
		l.Close()
	}
}

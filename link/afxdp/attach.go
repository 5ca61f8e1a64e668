package afxdp

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"

	ebpflink "github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/link/afxdp/internal/prog"
)

// An interface has one XDP hook, so the Links on its queues share one
// program: the first Open on an interface loads it and attaches it, each
// Open registers its socket in the program's XSKMAP at its queue, and the
// last Close detaches it. The attachments live in a package-level registry
// guarded by a mutex. That is the one piece of process-wide mutable state
// in the package, and it has to be: the XDP hook it mirrors is itself a
// per-interface kernel resource shared by every Link on the interface in
// this process, whichever code opened them. Nothing of it is exported.
var attachments struct {
	mu    sync.Mutex // also guards every attachment's fields
	byKey map[attachKey]*attachment
}

// attachKey names one interface: its index in one network namespace
// (interface indices are per namespace, and one process may open links in
// several).
type attachKey struct {
	nsDev, nsIno uint64
	ifindex      int
}

// attachment is one interface's program, its maps and its BPF link, and
// the steering all of its queues share.
type attachment struct {
	key      attachKey
	iface    string
	objs     *prog.Objects
	xdp      ebpflink.Link
	mode     string
	size     int              // the XSKMAP's entries: queues [0, size) may have sockets
	queues   map[int]struct{} // queues that have a Link (registered or opening)
	rule     uint32           // prog.RuleAll, or prog.RulePorts when opened WithPorts
	maxAddrs int
	addrs    map[netip.Addr]struct{} // the rules map's keys, as steered now
	ports    map[portRule]struct{}   // the ports map's keys, as steered now
}

// netnsKey identifies the calling thread's network namespace by its
// nsfs inode. Without /proc it is zero: every namespace looks alike, which
// is right for a process that uses only one.
func netnsKey(ifindex int) attachKey {
	k := attachKey{ifindex: ifindex}
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &st) == nil {
		k.nsDev, k.nsIno = st.Dev, st.Ino
	}
	return k
}

// acquire reserves queue on the interface's attachment, making the
// attachment (loading and attaching the program with c's steering) if
// the interface has none yet. A queue another Link holds is ErrQueueBusy;
// steering or an attach mode that differs from the attachment's is
// ErrMismatch. The caller registers its socket with setSocket once bound,
// and calls release in every case.
func acquire(key attachKey, iface string, queue int, c *config) (*attachment, error) {
	attachments.mu.Lock()
	defer attachments.mu.Unlock()
	if a := attachments.byKey[key]; a != nil {
		if _, taken := a.queues[queue]; taken {
			return nil, fmt.Errorf("afxdp: %s queue %d: %w (another link of this process has it)", iface, queue, ErrQueueBusy)
		}
		if queue >= a.size {
			return nil, fmt.Errorf("afxdp: %s queue %d: %w: the program shared by the interface's queues has room for queues 0 to %d", iface, queue, ErrQueueRange, a.size-1)
		}
		if err := a.compatible(c); err != nil {
			return nil, fmt.Errorf("afxdp: %s queue %d: %w: %s (all queues of an interface share one XDP program and its steering)", iface, queue, ErrMismatch, err)
		}
		a.queues[queue] = struct{}{}
		return a, nil
	}
	a, err := attach(key, iface, queue, c)
	if err != nil {
		return nil, err
	}
	a.queues[queue] = struct{}{}
	if attachments.byKey == nil {
		attachments.byKey = make(map[attachKey]*attachment)
	}
	attachments.byKey[key] = a
	return a, nil
}

// compatible reports how c's steering differs from a's, or nil.
func (a *attachment) compatible(c *config) error {
	rule := prog.RuleAll
	if len(c.ports) > 0 {
		rule = prog.RulePorts
	}
	addrs := make(map[netip.Addr]struct{}, len(c.addrs))
	for _, x := range c.addrs {
		addrs[x] = struct{}{}
	}
	ports := make(map[portRule]struct{}, len(c.ports))
	for _, p := range c.ports {
		ports[p] = struct{}{}
	}
	switch {
	case c.attach == AttachNative && a.mode != "native", c.attach == AttachGeneric && a.mode != "generic":
		return fmt.Errorf("attach mode %s asked for, the program is attached in %s mode", c.attach, a.mode)
	case c.maxAddrs != a.maxAddrs:
		return fmt.Errorf("room for %d addresses asked for, the program has %d", c.maxAddrs, a.maxAddrs)
	case !maps.Equal(addrs, a.addrs):
		return fmt.Errorf("addresses %v asked for, the program steers %v", sortedAddrs(addrs), sortedAddrs(a.addrs))
	case rule != a.rule:
		if rule == prog.RulePorts {
			return errors.New("ports asked for, the program steers whole addresses")
		}
		return errors.New("whole addresses asked for, the program steers by port")
	case !maps.Equal(ports, a.ports):
		return fmt.Errorf("ports %v asked for, the program steers %v", sortedPorts(ports), sortedPorts(a.ports))
	}
	return nil
}

func sortedAddrs(m map[netip.Addr]struct{}) []netip.Addr {
	return slices.SortedFunc(maps.Keys(m), netip.Addr.Compare)
}

func sortedPorts(m map[portRule]struct{}) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		name := "tcp"
		if p.proto == UDP {
			name = "udp"
		}
		out = append(out, fmt.Sprintf("%s/%d", name, p.port))
	}
	slices.Sort(out)
	return out
}

func (m AttachMode) String() string {
	switch m {
	case AttachAuto:
		return "auto"
	case AttachNative:
		return "native"
	case AttachGeneric:
		return "generic"
	}
	return fmt.Sprintf("AttachMode(%d)", int(m))
}

// attach loads the program with room for every rx queue of the interface
// (and at least queue), fills its maps from c and attaches it.
func attach(key attachKey, iface string, queue int, c *config) (_ *attachment, err error) {
	size := queue + 1
	if n, ok := RxQueues(iface); ok {
		size = max(size, n)
	}
	objs, err := prog.Load(prog.Config{Queues: size, MaxRules: c.maxAddrs, Fallback: prog.Pass})
	if err != nil {
		return nil, classify("afxdp", err)
	}
	a := &attachment{
		key:      key,
		iface:    iface,
		objs:     objs,
		size:     size,
		queues:   make(map[int]struct{}),
		rule:     prog.RuleAll,
		maxAddrs: c.maxAddrs,
		addrs:    make(map[netip.Addr]struct{}),
		ports:    make(map[portRule]struct{}),
	}
	defer func() {
		if err != nil {
			a.detach()
		}
	}()
	if len(c.ports) > 0 {
		a.rule = prog.RulePorts
	}
	for _, p := range c.ports {
		if err := objs.AddPort(uint8(p.proto), p.port); err != nil {
			return nil, classify("afxdp", err)
		}
		a.ports[p] = struct{}{}
	}
	for _, x := range c.addrs {
		if err := objs.AddAddr(x, a.rule); err != nil {
			return nil, classify("afxdp", err)
		}
		a.addrs[x] = struct{}{}
	}
	try := func(f ebpflink.XDPAttachFlags) (ebpflink.Link, error) {
		return ebpflink.AttachXDP(ebpflink.XDPOptions{Program: objs.Program, Interface: key.ifindex, Flags: f})
	}
	switch c.attach {
	case AttachNative:
		a.xdp, err = try(ebpflink.XDPDriverMode)
		if err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
				return nil, fmt.Errorf("afxdp: attaching to %s in native mode: %w: %w", iface, ErrNoNativeXDP, err)
			}
			return nil, classify(fmt.Sprintf("afxdp: attaching to %s in native mode", iface), err)
		}
		a.mode = "native"
	case AttachGeneric:
		if a.xdp, err = try(ebpflink.XDPGenericMode); err != nil {
			return nil, classify(fmt.Sprintf("afxdp: attaching to %s in generic mode", iface), err)
		}
		a.mode = "generic"
	default:
		xl, errNative := try(ebpflink.XDPDriverMode)
		if errNative == nil {
			a.xdp, a.mode = xl, "native"
			return a, nil
		}
		if errors.Is(errNative, unix.EBUSY) || errors.Is(errNative, unix.EEXIST) ||
			errors.Is(errNative, unix.EPERM) || errors.Is(errNative, unix.EACCES) {
			// Not a driver without XDP: generic mode would fail alike.
			return nil, classify(fmt.Sprintf("afxdp: attaching to %s in native mode", iface), errNative)
		}
		if a.xdp, err = try(ebpflink.XDPGenericMode); err != nil {
			return nil, classify(fmt.Sprintf("afxdp: attaching to %s (native mode: %v; generic mode)", iface, errNative), err)
		}
		a.mode = "generic"
	}
	return a, nil
}

// setSocket registers fd as queue's socket in the XSKMAP: from now on
// the queue's steered frames go to it.
func (a *attachment) setSocket(queue, fd int) error {
	attachments.mu.Lock()
	defer attachments.mu.Unlock()
	if err := a.objs.SetSocket(queue, fd); err != nil {
		return classify("afxdp", err)
	}
	return nil
}

// release gives up queue: its XSKMAP entry goes (the queue's frames pass
// to the kernel again), and when it was the interface's last queue the
// program is detached and its maps released.
func (a *attachment) release(queue int) error {
	attachments.mu.Lock()
	defer attachments.mu.Unlock()
	if _, ok := a.queues[queue]; !ok {
		return nil
	}
	delete(a.queues, queue)
	var first error
	if err := a.objs.XSKs.Delete(uint32(queue)); err != nil && !errors.Is(err, unix.ENOENT) && len(a.queues) > 0 {
		// An entry never set is ENOENT (cilium/ebpf's ErrKeyNotExist
		// wraps it); with no queue left the whole map goes anyway.
		first = fmt.Errorf("afxdp: removing queue %d from the XSKMAP of %s: %w", queue, a.iface, err)
	}
	if len(a.queues) > 0 {
		return first
	}
	delete(attachments.byKey, a.key)
	return a.detach()
}

// detach removes the program from the interface and closes it and its
// maps.
func (a *attachment) detach() error {
	var first error
	if a.xdp != nil {
		if err := a.xdp.Close(); err != nil {
			first = fmt.Errorf("afxdp: detaching the XDP program from %s: %w", a.iface, err)
		}
		a.xdp = nil
	}
	if a.objs != nil {
		if err := a.objs.Close(); err != nil && first == nil {
			first = fmt.Errorf("afxdp: %w", err)
		}
		a.objs = nil
	}
	return first
}

// addAddr, removeAddr, addPort and removePort change the steering of
// every queue of the interface.
func (a *attachment) addAddr(x netip.Addr) error {
	attachments.mu.Lock()
	defer attachments.mu.Unlock()
	if err := a.objs.AddAddr(x, a.rule); err != nil {
		return err
	}
	a.addrs[x] = struct{}{}
	return nil
}

func (a *attachment) removeAddr(x netip.Addr) error {
	attachments.mu.Lock()
	defer attachments.mu.Unlock()
	if err := a.objs.RemoveAddr(x); err != nil {
		return err
	}
	delete(a.addrs, x)
	return nil
}

func (a *attachment) addPort(p portRule) error {
	attachments.mu.Lock()
	defer attachments.mu.Unlock()
	if err := a.objs.AddPort(uint8(p.proto), p.port); err != nil {
		return err
	}
	a.ports[p] = struct{}{}
	return nil
}

func (a *attachment) removePort(p portRule) error {
	attachments.mu.Lock()
	defer attachments.mu.Unlock()
	if err := a.objs.RemovePort(uint8(p.proto), p.port); err != nil {
		return err
	}
	delete(a.ports, p)
	return nil
}

// attached reports how many interfaces of this process have an
// attachment (for tests).
func attached() int {
	attachments.mu.Lock()
	defer attachments.mu.Unlock()
	return len(attachments.byKey)
}

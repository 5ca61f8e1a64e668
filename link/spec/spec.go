package spec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is the kind of link a Spec names.
type Kind string

// The kinds Parse accepts.
const (
	Mem      Kind = "mem"
	TAP      Kind = "tap"
	AFPacket Kind = "afpacket"
	AFXDP    Kind = "afxdp"
)

// Forms lists the accepted syntax; every parse error includes it.
const Forms = "mem, tap:NAME, afpacket:IFACE, afxdp:IFACE[:QUEUE]"

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("bad link spec")

// ErrUnsupported is wrapped by Open's error for a kind this build cannot
// open yet.
var ErrUnsupported = errors.New("link kind not supported in this build")

// maxIfaceName is IFNAMSIZ-1: Linux interface names are at most 15 bytes.
const maxIfaceName = 15

// Spec is a parsed link description.
type Spec struct {
	Kind Kind
	// Name is the TAP device or network interface; empty for mem.
	Name string
	// Queue is the AF_XDP queue id (0 unless given); unused for other kinds.
	Queue int
}

// String gives back the canonical text form, which Parse accepts.
func (s Spec) String() string {
	switch s.Kind {
	case Mem:
		return "mem"
	case AFXDP:
		if s.Queue != 0 {
			return fmt.Sprintf("afxdp:%s:%d", s.Name, s.Queue)
		}
	}
	return string(s.Kind) + ":" + s.Name
}

// Parse reads a link spec. Errors wrap ErrSyntax and list the accepted forms.
func Parse(s string) (Spec, error) {
	kind, rest, hasArg := strings.Cut(s, ":")
	switch Kind(kind) {
	case Mem:
		if hasArg {
			return Spec{}, syntaxErr(s, "mem takes no argument")
		}
		return Spec{Kind: Mem}, nil
	case TAP, AFPacket:
		name, err := ifaceName(s, Kind(kind), rest, hasArg)
		if err != nil {
			return Spec{}, err
		}
		if strings.Contains(name, ":") {
			return Spec{}, syntaxErr(s, fmt.Sprintf("%s takes one argument, the interface name", kind))
		}
		return Spec{Kind: Kind(kind), Name: name}, nil
	case AFXDP:
		name, q, hasQ := strings.Cut(rest, ":")
		name, err := ifaceName(s, AFXDP, name, hasArg)
		if err != nil {
			return Spec{}, err
		}
		sp := Spec{Kind: AFXDP, Name: name}
		if hasQ {
			n, err := strconv.Atoi(q)
			if err != nil || n > 1<<16-1 || q[0] < '0' || q[0] > '9' {
				return Spec{}, syntaxErr(s, fmt.Sprintf("queue %q is not a number in [0, 65535]", q))
			}
			sp.Queue = n
		}
		return sp, nil
	case "":
		return Spec{}, syntaxErr(s, "empty link kind")
	default:
		return Spec{}, syntaxErr(s, fmt.Sprintf("unknown link kind %q", kind))
	}
}

func ifaceName(s string, kind Kind, name string, hasArg bool) (string, error) {
	switch {
	case !hasArg || name == "":
		return "", syntaxErr(s, fmt.Sprintf("%s needs an interface name, as in %s:eth0", kind, kind))
	case len(name) > maxIfaceName:
		return "", syntaxErr(s, fmt.Sprintf("interface name %q is longer than %d bytes", name, maxIfaceName))
	case strings.ContainsAny(name, "/ \t\n\x00"):
		return "", syntaxErr(s, fmt.Sprintf("interface name %q contains '/', a space or a NUL", name))
	}
	return name, nil
}

func syntaxErr(s, why string) error {
	return fmt.Errorf("%w %q: %s (accepted forms: %s)", ErrSyntax, s, why, Forms)
}

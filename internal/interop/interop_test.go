package interop

import (
	"bufio"
	"fmt"
	"io"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kinds are the real packet paths, in the order the tests run them.
var kinds = []string{"afpacket", "tap", "afxdp"}

// TestServeAndGet runs, for each path: the kernel pings the stack; curl
// downloads 1 GiB from `ustack serve http`; 200 parallel curl
// requests (in one curl, and as 200 processes); a kernel client resets mid-transfer; a closed port refuses;
// SIGINT stops the server cleanly; then `ustack get` downloads from a Go
// HTTP server on the kernel side.
func TestServeAndGet(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			require(t)
			p := newPath(t, kind)
			bigFile := data(t, gib)
			small := data(t, 16<<10)
			getFile := data(t, 64*mib)
			if big() {
				getFile = data(t, gib)
			}
			srv := p.serve(t, "--dir", dataDir, "http")

			t.Run("kernel-pings-ustack", func(t *testing.T) {
				out := p.kernCmd(t, 20*time.Second, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-n", p.stackIP)
				if !strings.Contains(out, " 0% packet loss") {
					t.Fatalf("kernel ping of the stack:\n%s", out)
				}
			})

			t.Run("download", func(t *testing.T) {
				start := time.Now()
				out := p.kernSh(t, 5*time.Minute, fmt.Sprintf("curl -sS --fail --max-time 280 http://%s:8080/%s | sha256sum", p.stackIP, bigFile.name))
				el := time.Since(start)
				if got := strings.Fields(out); len(got) == 0 || got[0] != bigFile.sha {
					t.Fatalf("curl of %s: sha256 %q, want %s", bigFile.name, out, bigFile.sha)
				}
				t.Logf("curl downloaded %s, SHA-256 matches", rate(bigFile.size, el))
			})

			t.Run("parallel-200", func(t *testing.T) {
				before := srv.stat("accepted")
				var sb strings.Builder
				sb.WriteString("curl -sS -Z --parallel-immediate --parallel-max 200 --max-time 60")
				for range 200 {
					fmt.Fprintf(&sb, " -o /dev/null -w '%%{http_code} %%{size_download}\\n' http://%s:8080/%s", p.stackIP, small.name)
				}
				start := time.Now()
				out := p.kernSh(t, 90*time.Second, sb.String())
				el := time.Since(start)
				want := fmt.Sprintf("200 %d", small.size)
				ok := 0
				for l := range strings.Lines(out) {
					if strings.TrimSpace(l) == want {
						ok++
					}
				}
				if ok != 200 {
					t.Fatalf("%d of 200 parallel requests got %q:\n%s", ok, want, out)
				}
				srv.waitFor(2*time.Second, func() bool { return srv.stats["accepted"] >= before+200 })
				t.Logf("200 parallel requests in %v; the server accepted %d connections for them",
					el.Round(time.Millisecond), srv.stat("accepted")-before)
			})

			t.Run("parallel-200-processes", func(t *testing.T) {
				start := time.Now()
				out := p.kernSh(t, 90*time.Second, fmt.Sprintf(
					"for i in $(seq 200); do curl -sS --max-time 60 -o /dev/null -w '%%{http_code} %%{size_download}\\n' http://%s:8080/%s & done; wait",
					p.stackIP, small.name))
				want := fmt.Sprintf("200 %d", small.size)
				if ok := strings.Count(out, want+"\n"); ok != 200 {
					t.Fatalf("%d of 200 curl processes got %q:\n%s", ok, want, out)
				}
				t.Logf("200 curl processes at once in %v", time.Since(start).Round(time.Millisecond))
			})

			t.Run("kernel-resets", func(t *testing.T) {
				resets, estabResets := srv.resetsSeen(), srv.stat("estab_resets")
				out := p.kernCmd(t, 30*time.Second, bins.kpeer, "reset", fmt.Sprintf("http://%s:8080/%s", p.stackIP, bigFile.name), "1048576")
				t.Logf("kpeer: %s", strings.TrimSpace(out))
				if !srv.waitFor(10*time.Second, func() bool {
					return srv.resets > resets && srv.stats["estab_resets"] > estabResets && srv.stats["conns"] == 0
				}) {
					t.Fatalf("after the kernel's RST: resets logged %d (was %d), estab_resets %d (was %d), conns %d; want one more reset and no connections left\n%s",
						srv.resetsSeen(), resets, srv.stat("estab_resets"), estabResets, srv.stat("conns"), srv.output())
				}
				t.Logf("the server reported the reset; estab_resets %d -> %d; connections back to 0", estabResets, srv.stat("estab_resets"))
			})

			t.Run("closed-port-refuses", func(t *testing.T) {
				rsts := srv.stat("out_rsts")
				out := p.kernCmd(t, 20*time.Second, bins.kpeer, "refused", p.stackIP+":9")
				t.Logf("kpeer: %s", strings.TrimSpace(out))
				srv.waitFor(2*time.Second, func() bool { return srv.stats["out_rsts"] > rsts })
				if srv.stat("out_rsts") <= rsts {
					t.Errorf("the stack's out_rsts did not grow (%d)", rsts)
				}
			})

			srv.stop()

			t.Run("ustack-get", func(t *testing.T) {
				httpd := p.kern.Command(5*time.Minute, bins.kpeer, "httpd", p.kernIP+":8081", dataDir)
				stdout, err := httpd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := httpd.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() { httpd.Process.Kill(); httpd.Wait() }()
				line, err := bufio.NewReader(stdout).ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "listening") {
					t.Fatalf("kpeer httpd: %q %v", line, err)
				}
				go io.Copy(io.Discard, stdout)
				out := filepath.Join(t.TempDir(), "got")
				start := time.Now()
				cmd := p.stack.Command(5*time.Minute, bins.ustack, "get", "--link", p.spec, "--addr", p.stackCIDR, "--timeout", "280s",
					"-o", out, fmt.Sprintf("http://%s:8081/%s", p.kernIP, getFile.name))
				msg, err := cmd.CombinedOutput()
				el := time.Since(start)
				if err != nil {
					t.Fatalf("ustack get: %v\n%s", err, msg)
				}
				t.Logf("ustack get: %s", strings.TrimSpace(string(msg)))
				if !strings.Contains(string(msg), "200 OK") || !strings.Contains(string(msg), "sha256 "+getFile.sha) {
					t.Fatalf("ustack get reported %q; want 200 OK and sha256 %s", msg, getFile.sha)
				}
				if got := sha256Of(t, out); got != getFile.sha {
					t.Fatalf("the file ustack get wrote has sha256 %s, want %s", got, getFile.sha)
				}
				t.Logf("ustack get downloaded %s (including stack start-up), SHA-256 matches", rate(getFile.size, el))
			})
		})
	}
}

func (s *server) resetsSeen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resets
}

// TestBadNetwork moves 64 MiB each way through ustack's impairment
// (delay 20 ms, 1% reordering, 0.1% duplication, both directions, on the
// stack's side of the link) and 1% random loss on the kernel's side (an
// nftables rule on the egress of the kernel's device). Download: curl
// from `ustack serve http`; upload: curl -T to the same server, whose
// PUT handler answers with the body's size and SHA-256. On every path.
func TestBadNetwork(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			require(t, "nft")
			p := newPath(t, kind)
			f := data(t, 64*mib)
			p.lossOnKernelSide(t)
			srv := p.serve(t, "--dir", dataDir, "--impair", "delay=20ms,reorder=1%,dup=0.1%,seed=1", "http")

			start := time.Now()
			out := p.kernSh(t, 4*time.Minute, fmt.Sprintf("curl -sS --fail --max-time 220 http://%s:8080/%s | sha256sum", p.stackIP, f.name))
			if got := strings.Fields(out); len(got) == 0 || got[0] != f.sha {
				t.Fatalf("download: sha256 %q, want %s", out, f.sha)
			}
			t.Logf("download: %s, SHA-256 matches; retransmissions so far %d", rate(f.size, time.Since(start)), srv.stat("retrans"))

			start = time.Now()
			out = p.kernSh(t, 4*time.Minute, fmt.Sprintf("curl -sS --fail --max-time 220 -T %s http://%s:8080/upload", f.path, p.stackIP))
			want := fmt.Sprintf("size=%d sha256=%s", f.size, f.sha)
			if strings.TrimSpace(out) != want {
				t.Fatalf("upload: server answered %q, want %q", out, want)
			}
			t.Logf("upload: %s, SHA-256 matches", rate(f.size, time.Since(start)))
			dropped := p.lossDropped(t)
			t.Logf("nftables dropped %d frames on the kernel side", dropped)
			if dropped == 0 {
				t.Errorf("the kernel-side loss rule dropped nothing")
			}
			srv.stop()
		})
	}
}

// TestCaptureReadsClean records a run with --capture (ping, a download
// and an upload, parallel requests, a refused connection) and reads the
// file back with tshark, IP and TCP checksum validation on. No frame may
// be malformed, carry a bad checksum or raise an expert error. Wireshark's TCP analysis also
// raises expert warnings that describe the traffic rather than defects in
// it: "Window Full" whenever the kernel's upload fills the stack's
// advertised window (flow control working), and under loss
// retransmissions and "previous segment not captured"; those are logged,
// not failed, and the lossy runs are not captured.
func TestCaptureReadsClean(t *testing.T) {
	require(t, "tshark")
	p := newPath(t, "afpacket")
	f := data(t, 4*mib)
	pcap := filepath.Join(t.TempDir(), "serve.pcapng")
	srv := p.serve(t, "--dir", dataDir, "--capture", pcap, "http")
	p.kernCmd(t, 20*time.Second, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-n", p.stackIP)
	out := p.kernSh(t, time.Minute, fmt.Sprintf("curl -sS --fail http://%s:8080/%s | sha256sum", p.stackIP, f.name))
	if !strings.HasPrefix(out, f.sha) {
		t.Fatalf("download: %q, want %s", out, f.sha)
	}
	out = p.kernSh(t, time.Minute, fmt.Sprintf("curl -sS --fail -T %s http://%s:8080/upload", f.path, p.stackIP))
	if !strings.Contains(out, f.sha) {
		t.Fatalf("upload: %q", out)
	}
	p.kernSh(t, time.Minute, fmt.Sprintf("curl -sS --fail -Z -o /dev/null -o /dev/null -o /dev/null -o /dev/null http://%[1]s:8080/ http://%[1]s:8080/%[2]s http://%[1]s:8080/ http://%[1]s:8080/%[2]s", p.stackIP, f.name))
	p.kernCmd(t, 20*time.Second, bins.kpeer, "refused", p.stackIP+":9")
	srv.stopWith(syscall.SIGTERM) // the capture must be complete after SIGTERM too

	// One pass: every frame's number, protocols, malformed flag, checksum
	// verdicts and expert messages.
	start := time.Now()
	rows, err := runTool("tshark", "-r", pcap, "-n", "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=;",
		"-e", "frame.number", "-e", "frame.protocols", "-e", "_ws.malformed",
		"-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "icmp.checksum.status",
		"-e", "_ws.expert.severity", "-e", "_ws.expert.message")
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, rows)
	}
	var frames, tcpFrames int
	var bad []string
	notes := map[string]int{}
	for row := range strings.Lines(rows) {
		c := strings.Split(strings.TrimRight(row, "\n"), "|")
		if len(c) != 8 {
			t.Fatalf("tshark row %q has %d fields, want 8", row, len(c))
		}
		frames++
		if strings.Contains(c[1], ":tcp") {
			tcpFrames++
		}
		// Checksum status: 0 bad, 1 good, 2 unverified.
		if c[2] != "" || hasField(c[3], "0") || hasField(c[4], "0") || hasField(c[5], "0") {
			bad = append(bad, row)
		}
		if c[7] != "" {
			sev := strings.Split(c[6], ";")
			for i, m := range strings.Split(c[7], ";") {
				level := "?"
				if i < len(sev) {
					level = severity[sev[i]]
				}
				if level == "error" {
					bad = append(bad, row)
				}
				notes[fmt.Sprintf("%s: %s", level, expertKind(m))]++
			}
		}
	}
	t.Logf("tshark read %d frames (%d TCP) in %v", frames, tcpFrames, time.Since(start).Round(time.Millisecond))
	if tcpFrames < 1000 {
		t.Fatalf("the capture holds only %d TCP frames", tcpFrames)
	}
	if len(bad) != 0 {
		t.Errorf("%d malformed, bad-checksum or expert-error frames, first ones:\n%s", len(bad), strings.Join(bad[:min(len(bad), 10)], ""))
	}
	for k, n := range notes {
		t.Logf("expert info (not failed): %d x %s", n, k)
	}
}

// severity names Wireshark's expert severity levels (PI_CHAT and up).
var severity = map[string]string{"2097152": "chat", "4194304": "note", "6291456": "warning", "8388608": "error"}

// hasField reports whether the aggregated field list holds v.
func hasField(list, v string) bool {
	for f := range strings.SplitSeq(list, ";") {
		if f == v {
			return true
		}
	}
	return false
}

// expertKind trims the numbers from an expert message so that messages
// group ("Connection establish request (SYN): server port 8080").
func expertKind(m string) string {
	return strings.TrimSpace(strings.ReplaceAll(digitsRE.ReplaceAllString(m, "N"), "\\r\\n", ""))
}

var digitsRE = regexp.MustCompile(`[0-9]+`)

// runTool runs a tool in the test's own namespace (tshark reads a file)
// and returns its standard output.
func runTool(name string, args ...string) (string, error) {
	cmd := osexec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return string(b) + stderr.String(), err
	}
	return string(b), nil
}

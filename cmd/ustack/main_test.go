package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnknownCommandAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Errorf("stderr %q does not name the bad command", errb.String())
	}
	out.Reset()
	if code := run([]string{"help"}, &out, &errb); code != 0 {
		t.Fatalf("help exit %d", code)
	}
	for _, c := range []string{"version", "ping", "help"} {
		if !strings.Contains(out.String(), "  "+c+" ") {
			t.Errorf("help does not list %q:\n%s", c, out.String())
		}
	}
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("no command exit %d, want 2", code)
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("version exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "ustack ") || !strings.Contains(out.String(), "go1.") {
		t.Errorf("version output %q", out.String())
	}
}

// ustack ping runs two stacks over the in-memory link and every request is
// answered; with -w the capture is a pcapng file tshark decodes as ARP then
// ICMP echo request/reply pairs.
func TestPingCommand(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "ping.pcapng")
	var out, errb bytes.Buffer
	if code := run([]string{"ping", "-c", "3", "-s", "100", "-w", pcap}, &out, &errb); code != 0 {
		t.Fatalf("ping exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "3 packets transmitted, 3 received, 0% packet loss") {
		t.Fatalf("ping output:\n%s", out.String())
	}
	if strings.Count(out.String(), "108 bytes from 10.0.0.2: icmp_seq=") != 3 {
		t.Errorf("want 3 reply lines of 108 bytes:\n%s", out.String())
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark not installed in CI (scripts/install-deps.sh installs it)")
		}
		t.Skip("tshark not installed; run scripts/install-deps.sh as root")
	}
	cmd := exec.Command("tshark", "-r", pcap, "-T", "fields", "-e", "_ws.col.Protocol", "-e", "icmp.type", "-e", "icmp.seq", "-e", "icmp.checksum.status")
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := "ARP\t\t\t\nARP\t\t\t\n" +
		"ICMP\t8\t1\t1\nICMP\t0\t1\t1\n" +
		"ICMP\t8\t2\t1\nICMP\t0\t2\t1\n" +
		"ICMP\t8\t3\t1\nICMP\t0\t3\t1\n"
	if string(got) != want {
		t.Errorf("tshark decoded:\n%s\nwant:\n%s", got, want)
	}
}

func TestPingFlagErrors(t *testing.T) {
	for _, args := range [][]string{{"ping", "-c", "0"}, {"ping", "-polling", "sometimes"}, {"ping", "extra"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("%v: no error message", args)
		}
	}
}

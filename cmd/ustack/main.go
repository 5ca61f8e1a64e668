// Command ustack runs, inspects and benchmarks the ustack userspace TCP/IP
// stack. Run `ustack help` for the subcommands.
package main

import (
	"fmt"
	"io"
	"os"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and returns the process exit status.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"version", "print the ustack version and build information", runVersion},
		{"ping", "ping a second userspace stack over the in-memory link (no root needed)", runPing},
		{"serve", "run an echo, discard or HTTP file server on a userspace stack on a real link", runServe},
		{"get", "HTTP GET through a userspace stack on a real link; prints size and SHA-256", runGet},
		{"bench", "benchmark ustack against the kernel TCP (latency, throughput, conn/s, CPU, allocations)", runBench},
		{"help", "show this help, or help for one command", nil},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			return runHelp(args[1], stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "ustack: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ustack is a userspace TCP/IP stack for Go; this command runs and inspects it.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: ustack <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'ustack help <command>' for a command's flags.")
}

func runHelp(name string, stdout, stderr io.Writer) int {
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run([]string{"-h"}, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "ustack help: unknown command %q\n", name)
	return 2
}

// Command httpserver is an ordinary net/http server moved onto ustack by
// changing one line: the listener comes from a ustack.Stack instead of
// net.Listen. Everything else — handlers, http.Server, http.Client — is
// the standard library, unchanged.
//
// It needs no root and no network: the server's stack and a client's
// stack are joined by an in-memory link (link/mem), and a built-in client
// fetches a page through it and prints the response:
//
//	go run ./examples/httpserver
//
// With -kernel the same code runs on the kernel's stack (127.0.0.1)
// through ustack.Kernel, the fallback every ustack.Network user gets.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/mem"
)

func main() {
	kernel := flag.Bool("kernel", false, "use the kernel's stack (127.0.0.1) instead of ustack")
	flag.Parse()

	// Two networks: the server's and the client's. On ustack they are two
	// stacks on the two ends of an in-memory cable.
	var srvNet, cliNet ustack.Network = ustack.Kernel{}, ustack.Kernel{}
	host := "127.0.0.1"
	if !*kernel {
		la, lb := mem.Pair()
		server, err := ustack.New(ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24")})
		if err != nil {
			log.Fatal(err)
		}
		defer server.Close()
		client, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
		if err != nil {
			log.Fatal(err)
		}
		defer client.Close()
		srvNet, cliNet, host = server, client, "10.0.0.2"
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s, you are %s\n", r.Host, r.RemoteAddr)
	})

	// The one line: was `ln, err := net.Listen("tcp", host+":8080")`.
	ln, err := srvNet.Listen("tcp", host+":8080")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	// The client dials through its own network the same way.
	c := &http.Client{
		Transport: &http.Transport{DialContext: cliNet.DialContext},
		Timeout:   10 * time.Second,
	}
	resp, err := c.Get("http://" + net.JoinHostPort(host, "8080") + "/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Proto, resp.Status)
	fmt.Print(string(body))
	_ = srv.Shutdown(context.Background())
}

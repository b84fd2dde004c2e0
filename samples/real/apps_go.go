// Go's net/http server and client for samples/real/make_go.sh (Go 1.19 from Debian's golang-go).
//
//	apps_go server PORT IDLE_TIMEOUT          e.g. server 9241 1s
//	apps_go client PORT IDLE_CONN_TIMEOUT STEPS   e.g. client 9241 90s get,0.5,get,1.6,get,1.5
//
// The server is http.Server with IdleTimeout (its keep-alive idle timeout) and logs every
// connection state change (new, active, idle, closed) and request with the time and the
// client's port. The client is an http.Client on a Transport with IdleConnTimeout (its pool
// idle timeout; Go's default is 90 s) and logs, per request, the connection it got from
// httptrace (reused, was idle, idle time, local port) — Go retries a GET by itself when a
// reused connection was closed under it, and GotConn then fires twice.
//
// STEPS: "get" sends GET /goN; a number sleeps that many seconds. Bounded: the steps given.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"strings"
	"time"
)

func stamp() string { return time.Now().UTC().Format("15:04:05.000000") }

func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}

func server(listen string, idle time.Duration) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s request %s %s from port %s\n", stamp(), r.Method, r.URL.Path, port(r.RemoteAddr))
		io.WriteString(w, "go "+r.URL.Path+"\n")
	})
	srv := &http.Server{
		Addr:              listen,
		Handler:           mux,
		IdleTimeout:       idle,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(c net.Conn, s http.ConnState) {
			fmt.Printf("%s conn port %s %s\n", stamp(), port(c.RemoteAddr().String()), s)
		},
	}
	fmt.Printf("%s listening on %s, IdleTimeout %s\n", stamp(), listen, idle)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

func client(target string, idleConn time.Duration, steps string) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.IdleConnTimeout = idleConn
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	n := 0
	for _, step := range strings.Split(steps, ",") {
		if step != "get" {
			secs, err := strconv.ParseFloat(step, 64)
			if err != nil {
				fmt.Println("bad step", step)
				os.Exit(2)
			}
			time.Sleep(time.Duration(secs * float64(time.Second)))
			continue
		}
		n++
		path := fmt.Sprintf("/go%d", n)
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
			fmt.Printf("%s %s got conn port %s reused=%v was_idle=%v idle=%s\n", stamp(), path,
				port(i.Conn.LocalAddr().String()), i.Reused, i.WasIdle, i.IdleTime)
		}}
		ctx := httptrace.WithClientTrace(context.Background(), trace)
		req, _ := http.NewRequestWithContext(ctx, "GET", target+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			fmt.Printf("%s %s error: %v\n", stamp(), path, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %s status %d\n", stamp(), path, resp.StatusCode)
	}
	fmt.Printf("%s client done (idle connections are closed when the program exits)\n", stamp())
}

func main() {
	if len(os.Args) < 4 {
		fmt.Println("usage: apps_go server PORT IDLE | client PORT IDLE_CONN STEPS")
		os.Exit(2)
	}
	d, err := time.ParseDuration(os.Args[3])
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		server("127.0.0.1:"+os.Args[2], d)
	case "client":
		if len(os.Args) < 5 {
			fmt.Println("client needs STEPS")
			os.Exit(2)
		}
		client("http://127.0.0.1:"+os.Args[2], d, os.Args[4])
	default:
		os.Exit(2)
	}
}

package main

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// The proxy holds what the client sends for its delay, keeps the order of the bytes, and passes the replies on.
func TestDelayProxyHoldsRequests(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	const delay = 150 * time.Millisecond
	proxy, err := startDelayProxy(echo.Addr().String(), delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.close)
	conn, err := net.Dial("tcp", proxy.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for _, msg := range []string{"first\n", "second\n"} {
		start := time.Now()
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if got != msg {
			t.Errorf("echo %q, want %q", got, msg)
		}
		if took := time.Since(start); took < delay {
			t.Errorf("round trip of %q took %s, want at least the proxy's %s", msg, took, delay)
		}
	}
}

package litmus

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
)

// chaos-exporter listens on the fixed :8080 (cmd/exporter/main.go), which another program on this machine may
// hold. It runs in its own network namespace instead (`unshare -n`), with two bridges over Unix sockets, which
// a network namespace does not separate: the apiserver's port inside, and the exporter's :8080 outside.

// Env names of the helper that runs inside the namespace (the test binary started again, see RunNetnsHelper).
const (
	EnvNetnsHelper   = "LITMUS_E2E_NETNS_HELPER"
	EnvNetnsAPIAddr  = "LITMUS_E2E_NETNS_API_ADDR"  // 127.0.0.1:<port> to serve inside, as the kubeconfig names it
	EnvNetnsAPISock  = "LITMUS_E2E_NETNS_API_SOCK"  // Unix socket, served outside, that reaches the apiserver
	EnvNetnsPortSock = "LITMUS_E2E_NETNS_PORT_SOCK" // Unix socket the helper serves, reaching 127.0.0.1:8080 inside
)

// Forward accepts connections on ln until ctx ends and pipes each to a new connection from dial.
func Forward(ctx context.Context, ln net.Listener, dial func() (net.Conn, error)) {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			out, err := dial()
			if err != nil {
				return
			}
			defer out.Close()
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); closeWrite(out) }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); closeWrite(in) }()
			wg.Wait()
		}()
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// RunNetnsHelper is the body of the test binary started inside the new network namespace: it brings the
// loopback up, serves both bridges and runs the command given as arguments until it ends or a signal comes.
// It returns the exit code.
func RunNetnsHelper(args []string) int {
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api, err := net.Listen("tcp", os.Getenv(EnvNetnsAPIAddr))
	if err != nil {
		os.Stderr.WriteString("netns helper: " + err.Error() + "\n")
		return 1
	}
	go Forward(ctx, api, func() (net.Conn, error) { return net.Dial("unix", os.Getenv(EnvNetnsAPISock)) })
	port, err := net.Listen("unix", os.Getenv(EnvNetnsPortSock))
	if err != nil {
		os.Stderr.WriteString("netns helper: " + err.Error() + "\n")
		return 1
	}
	go Forward(ctx, port, func() (net.Conn, error) { return net.Dial("tcp", "127.0.0.1:8080") })
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString("netns helper: " + err.Error() + "\n")
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		_ = cmd.Process.Signal(s)
	}()
	if err := cmd.Wait(); err != nil {
		return 1
	}
	return 0
}

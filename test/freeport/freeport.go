// Package freeport finds free TCP ports on 127.0.0.1 for the servers the test harnesses start as processes
// (kube-apiserver and etcd, moto_server, Prometheus), which take their port on the command line.
package freeport

import (
	"fmt"
	"net"
)

// Ports returns n distinct ports that were free a moment ago: all n are held open until every one is found, then
// released for the caller's server to bind. Another process may take one in between; the harnesses retry their
// start when that happens.
func Ports(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Port is Ports(1)[0].
func Port() (int, error) {
	ports, err := Ports(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

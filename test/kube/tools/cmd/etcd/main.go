// Command etcd is the upstream etcd server, built from source for the
// integration tests that run a real kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

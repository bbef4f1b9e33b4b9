// CoreDNS for the kind node image: the plugins kubeadm's default Corefile names (plus log), in
// CoreDNS's own directive order. Compiling every plugin would double the build for nothing.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// compiled lists the directives imported above; "prometheus" is the metrics plugin's directive.
var compiled = map[string]bool{
	"cache": true, "errors": true, "forward": true, "health": true, "kubernetes": true,
	"loadbalance": true, "log": true, "loop": true, "prometheus": true, "ready": true, "reload": true,
}

func init() {
	// Keep CoreDNS's order (it decides how plugins chain), drop what is not compiled in.
	kept := dnsserver.Directives[:0]
	for _, d := range dnsserver.Directives {
		if compiled[d] {
			kept = append(kept, d)
		}
	}
	dnsserver.Directives = kept
}

func main() {
	coremain.Run()
}

import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `network connect` / `network disconnect`, live and on stopped containers.
extension NetworkTests {
    private func pings(_ root: String, _ from: String, _ to: String) -> Bool {
        berth(root, "exec", from, "ping", "-c1", "-W1", to).status == 0
    }

    @Test(
        "network connect gives a running container eth1 at once: it reaches the network by address and name; disconnect takes it away"
    )
    func connectRunning() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "netc").status == 0)
            #expect(
                berth(
                    root, "run", "-d", "--name", "web", "--network", "netc", "busybox", "sh", "-c",
                    "mkdir /w && echo page > /w/index.html && httpd -f -p 80 -h /w"
                ).status == 0)
            #expect(berth(root, "run", "-d", "--name", "cli", "busybox", "sleep", "120").status == 0)
            net.remember()
            let web = ip(root, "web")
            #expect(!pings(root, "cli", web), "different networks are isolated")

            let connect = berth(root, "network", "connect", "--alias", "clialias", "netc", "cli")
            #expect(connect.status == 0 && connect.stdout.isEmpty, "\(connect.stderr)")
            #expect(
                berth(root, "inspect", "-f", "{{.NetworkSettings.Networks.netc.Aliases}}", "cli").stdout == "[clialias]\n")
            let eth1 = berth(root, "exec", "cli", "ip", "-o", "-4", "addr", "show", "eth1").stdout
            let address = berth(root, "inspect", "-f", "{{.NetworkSettings.Networks.netc.IPAddress}}", "cli").stdout
                .trimmingSpacesAndNewlines
            #expect(!address.isEmpty && eth1.contains(" \(address)/"), "eth1: \(eth1), inspect: \(address)")
            #expect(pings(root, "cli", web), "reaches web by address")
            #expect(pings(root, "cli", "web") && pings(root, "web", "cli"), "names resolve both ways")
            #expect(pings(root, "web", "clialias"), "the alias resolves too")
            let page = berth(
                root, "exec", "cli", "sh", "-c", "for i in 1 2 3 4 5; do wget -qO- http://web/ && break; sleep 0.3; done")
            #expect(page.stdout == "page\n", "\(page)")
            let route = berth(root, "exec", "cli", "ip", "route").stdout
            #expect(
                route.contains("default via") && route.contains("dev eth0") && !route.contains("default via 10.234"), "\(route)")
            #expect(berth(root, "ps", "-f", "network=netc", "--format", "{{.Names}}").stdout == "cli\nweb\n")
            let members = berth(root, "network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "netc").stdout
            #expect(members.contains("cli") && members.contains("web"), "\(members)")
            expectOneErrorLine(
                berth(root, "network", "connect", "netc", "cli"),
                naming: ["endpoint with name cli already exists in network netc"])

            let disconnect = berth(root, "network", "disconnect", "netc", "cli")
            #expect(disconnect.status == 0, "\(disconnect.stderr)")
            #expect(berth(root, "exec", "cli", "ip", "link", "show", "eth1").status != 0, "eth1 is gone")
            #expect(!pings(root, "cli", web), "the network is out of reach again")
            let id = berth(root, "inspect", "-f", "{{.Id}}", "cli").stdout.trimmingSpacesAndNewlines
            #expect(sh("ip link show \(HostNetwork.hostVeth(id, interface: 1))").status != 0, "host end gone")
            let after = berth(root, "network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "netc").stdout
            #expect(!after.contains("cli"), "lease released: \(after)")
            #expect(berth(root, "inspect", "-f", "{{len .NetworkSettings.Networks}}", "cli").stdout == "1\n")
            expectOneErrorLine(
                berth(root, "network", "disconnect", "netc", "cli"), naming: ["container cli is not connected to network netc"])
            expectOneErrorLine(berth(root, "network", "connect", "nosuchnet", "cli"), naming: ["nosuchnet"])
            expectOneErrorLine(berth(root, "network", "connect", "netc", "nosuchctr"), naming: ["No such container: nosuchctr"])
            expectOneErrorLine(berth(root, "network", "connect", "--ip", "192.0.2.9", "netc", "cli"), naming: ["192.0.2.9"])
            #expect(berth(root, "network", "disconnect", "-f", "gonenet", "cli").status == 1, "-f still needs a connection")
        }
    }

    @Test("network connect --ip on a stopped container: eth1 comes at each start; rm releases the address")
    func connectStopped() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "netd").status == 0)
            #expect(berth(root, "run", "-d", "--name", "peer", "--network", "netd", "busybox", "sleep", "120").status == 0)
            #expect(berth(root, "create", "--name", "late", "busybox", "sleep", "120").status == 0)
            net.remember()
            let subnet = berth(root, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "netd").stdout
            let base = field(subnet, 0, separator: "/").split(separator: ".")
            guard base.count == 4, let last = Int(base[3]) else {
                Issue.record("netd has no IPv4 subnet: \(subnet)")
                return
            }
            let wanted = "\(base[0]).\(base[1]).\(base[2]).\(last + 20)"
            let connect = berth(root, "network", "connect", "--ip", wanted, "netd", "late")
            #expect(connect.status == 0, "\(subnet) \(connect.stderr)")
            expectOneErrorLine(
                berth(root, "network", "connect", "--ip", wanted, "netd", "peer"),
                naming: ["endpoint with name peer already exists"])
            for round in 1...2 {
                #expect(berth(root, "start", "late").status == 0)
                let eth1 = berth(root, "exec", "late", "ip", "-o", "-4", "addr", "show", "eth1").stdout
                #expect(eth1.contains(" \(wanted)/"), "start \(round): \(eth1)")
                #expect(pings(root, "late", "peer") && pings(root, "peer", "late"), "start \(round)")
                #expect(berth(root, "stop", "-t", "0", "late").status == 0)
            }
            #expect(berth(root, "rm", "late").status == 0)
            #expect(berth(root, "rm", "-f", "peer").status == 0)
            #expect(berth(root, "network", "rm", "netd").status == 0, "no lease is left on the network")
            #expect(net.leftovers().isEmpty, "\(net.leftovers())")
        }
    }

    @Test(
        "disconnecting the first network leaves a published container without eth0 or ports; the next connect makes it first again"
    )
    func disconnectFirst() {
        withNet { net in
            let root = net.root
            let port = freePort()
            #expect(berth(root, "network", "create", "netf").status == 0)
            #expect(berth(root, "run", "-d", "--name", "peer", "--network", "netf", "busybox", "sleep", "120").status == 0)
            #expect(
                berth(
                    root, "run", "-d", "--name", "pub", "-p", "127.0.0.1:\(port):80", "busybox", "sh", "-c",
                    "mkdir -p /w && echo up > /w/index.html && httpd -f -p 80 -h /w"
                ).status == 0)
            net.remember()
            // Busybox wget -T crashes on a timeout, so nc (the monitor's port
            // reservation accepts a connection but never answers).
            let once = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 2 busybox nc 127.0.0.1 \(port)"
            let fetch = "for i in 1 2 3 4 5 6 7 8 9 10; do \(once) | grep -q '^up' && echo up && break; sleep 0.2; done"
            #expect(sh(fetch).stdout == "up\n")
            #expect(berth(root, "network", "disconnect", "bridge", "pub").status == 0)
            #expect(berth(root, "exec", "pub", "ip", "link", "show", "eth0").status != 0, "eth0 is gone")
            #expect(!sh(once).stdout.contains("up"), "the port is no longer published")
            #expect(berth(root, "ps", "-f", "name=pub", "--format", "{{.Ports}}").stdout == "\n")
            #expect(berth(root, "port", "pub").stdout.isEmpty)
            #expect(berth(root, "inspect", "-f", "{{len .NetworkSettings.Networks}}", "pub").stdout == "0\n")
            expectOneErrorLine(
                berth(root, "network", "disconnect", "bridge", "pub"),
                naming: ["container pub is not connected to network bridge"])
            // Joining netf now makes it the first network: eth0 with the default route, and the ports again.
            #expect(berth(root, "network", "connect", "netf", "pub").status == 0)
            let route = berth(root, "exec", "pub", "ip", "route").stdout
            #expect(route.contains("default via") && route.contains("dev eth0"), "\(route)")
            #expect(berth(root, "exec", "pub", "ping", "-c1", "-W1", "peer").status == 0)
            #expect(sh(fetch).stdout == "up\n", "published again through the new first network")
            // A restart keeps it that way.
            #expect(berth(root, "restart", "-t", "0", "pub").status == 0)
            #expect(berth(root, "exec", "pub", "ping", "-c1", "-W1", "peer").status == 0)
            #expect(sh(fetch).stdout == "up\n")
            #expect(berth(root, "rm", "-f", "pub", "peer").status == 0)
            #expect(berth(root, "network", "rm", "netf").status == 0, "no lease is left")
        }
    }
}

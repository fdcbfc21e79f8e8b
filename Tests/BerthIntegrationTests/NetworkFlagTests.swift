import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `run` flags about the network: `--add-host`, `--dns`,
/// `--dns-option`, `--dns-search`, `--ip`, `--network-alias`. They run in
/// the Networking suite's stores (own bridge, own subnets, everything
/// checked gone at the end).
extension NetworkTests {
    private func gateway(_ root: String, _ network: String) -> String {
        berth(root, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", network).stdout
            .trimmingSpacesAndNewlines
    }

    /// The address after the gateway of a user network's subnet (a /26 in these stores).
    private func firstPoolAddress(_ root: String, _ network: String) -> String {
        let subnet = berth(root, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", network).stdout
        let base = field(subnet, 0, separator: "/").split(separator: ".").map(String.init)
        guard base.count == 4, let last = Int(base[3]) else { return "?" }
        return base.prefix(3).joined(separator: ".") + ".\(last + 2)"
    }

    @Test("--mac-address is eth0's address, shown by inspect and kept by a restart; bad ones and the wrong modes are refused")
    func macAddress() {
        withNet { net in
            let root = net.root
            let mac = "92:d0:c6:0a:29:3\(getpid() % 10)"
            let run = berth(
                root, "run", "-d", "--name", "macd", "--network", "bridge", "--mac-address", mac, "busybox", "sleep", "300")
            #expect(run.status == 0, "run: \(run.stderr)")
            net.remember()
            #expect(berth(root, "exec", "macd", "cat", "/sys/class/net/eth0/address").stdout == mac + "\n")
            let shown = berth(
                root, "inspect", "-f",
                "{{.NetworkSettings.MacAddress}} {{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}",
                "macd")
            #expect(shown.stdout == "\(mac) \(mac)\n", "\(shown)")
            #expect(berth(root, "restart", "-t", "0", "macd").status == 0)
            #expect(berth(root, "exec", "macd", "cat", "/sys/class/net/eth0/address").stdout == mac + "\n", "after restart")
            // Without the flag, Docker's 02:42 and the address.
            let plain = berth(root, "run", "--rm", "--network", "bridge", "busybox", "cat", "/sys/class/net/eth0/address")
            #expect(plain.stdout.hasPrefix("02:42:"), "\(plain)")
            for (value, words) in [("zz", "is not a valid mac address"), ("01:00:5e:00:00:01", "multicast or zero")] {
                expectOneErrorLine(
                    berth(root, "run", "--rm", "--network", "bridge", "--mac-address", value, "busybox", "true"),
                    naming: ["--mac-address", words], status: 125)
            }
            for mode in ["none", "host"] {
                expectOneErrorLine(
                    berth(root, "create", "--network", mode, "--mac-address", mac, "busybox"),
                    naming: ["mac-address and the network mode"], status: 125)
            }
        }
    }

    @Test("on oci:runc, --ip, --network-alias and --add-host work as on namespaces")
    func ociNetworkFlags() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "appnet").status == 0)
            net.remember()
            let fixed = firstPoolAddress(root, "appnet")
            let web = berth(
                root, "run", "-d", "--name", "ociweb", "--isolation", "oci:runc", "--network", "appnet", "--ip", fixed,
                "--network-alias", "www", "--add-host", "x.test:10.5.5.5", "busybox", "sh", "-c",
                "mkdir /www && echo oci > /www/index.html && httpd -f -p 80 -h /www")
            #expect(web.status == 0, "run: \(web.stderr)")
            net.remember()
            let inside = berth(root, "exec", "ociweb", "ip", "-o", "-4", "addr", "show", "eth0").stdout
            #expect(inside.contains("inet \(fixed)/26 "), "eth0 under runc: \(inside)")
            #expect(berth(root, "exec", "ociweb", "cat", "/etc/hosts").stdout.contains("10.5.5.5\tx.test\n"))
            let fetched = berth(
                root, "run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
                "for i in 1 2 3 4 5; do wget -qO- http://www/ && break; sleep 0.2; done")
            net.remember()
            #expect(fetched.stdout == "oci\n", "fetched by alias: \(fetched.stdout) \(fetched.stderr)")
        }
    }

    @Test("--add-host and --dns* are the container's /etc/hosts and /etc/resolv.conf; host-gateway is the bridge's gateway")
    func hostsAndResolvConf() {
        withNet { net in
            let root = net.root
            let run = berth(
                root, "run", "--rm", "--add-host", "db.local:10.1.2.3", "--add-host", "gw:host-gateway", "--add-host",
                "v6:fd00::1", "--dns", "10.9.9.9", "--dns", "10.9.9.8", "--dns-search", "a.example", "--dns-search",
                "b.example", "--dns-option", "ndots:3", "busybox", "sh", "-c",
                "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; ping -c1 -W1 db.local 2>&1 | head -1; ping -c1 -W2 gw >/dev/null && echo gw-answers"
            )
            net.remember()
            #expect(run.status == 0, "run: \(run.stderr)")
            let parts = run.stdout.split(separator: "---\n", omittingEmptySubsequences: false).map(String.init)
            #expect(parts.count == 3, "\(run.stdout)")
            guard parts.count == 3 else { return }
            let gw = gateway(root, "bridge")
            #expect(gw.hasPrefix("10.233."), "bridge gateway \(gw)")
            #expect(parts[0].hasPrefix("127.0.0.1\tlocalhost\n"), "\(parts[0])")
            #expect(parts[0].contains("\n10.1.2.3\tdb.local\n\(gw)\tgw\nfd00::1\tv6\n"), "the added hosts, in order: \(parts[0])")
            #expect(
                parts[1] == "search a.example b.example\nnameserver 10.9.9.9\nnameserver 10.9.9.8\noptions ndots:3\n",
                "resolv.conf: \(parts[1])")
            #expect(parts[2].contains("PING db.local (10.1.2.3)"), "the name resolves through /etc/hosts: \(parts[2])")
            #expect(parts[2].contains("gw-answers"), "host-gateway reaches the host: \(parts[2])")

            // One kind given replaces only the host's lines of that kind; `--dns-search .` means none.
            let options = berth(
                root, "run", "--rm", "--dns-option", "timeout:1", "--dns-search", ".", "busybox", "cat", "/etc/resolv.conf")
            #expect(options.stdout.hasSuffix("options timeout:1\n") && !options.stdout.contains("search"), "\(options.stdout)")
            #expect(options.stdout.contains("nameserver "), "the host's servers are kept: \(options.stdout)")
            #expect(!options.stdout.contains("nameserver 127."), "but never a loopback one: \(options.stdout)")

            // On the host's network: the host's own hosts file, with the added line.
            let host = berth(
                root, "run", "--rm", "--network", "host", "--add-host", "extra.host:10.7.7.7", "busybox", "cat", "/etc/hosts")
            let hostFile = readFile("/etc/hosts")
            #expect(host.stdout.hasPrefix(hostFile) && host.stdout.hasSuffix("10.7.7.7\textra.host\n"), "\(host.stdout)")
            #expect(readFile("/etc/hosts") == hostFile, "the host's file is not touched")
        }
    }

    @Test("--add-host, --dns* and --dns-search refuse bad values with Docker's messages, exit 125; chroot refuses them")
    func hostsRefusals() {
        withNet { net in
            let root = net.root
            let cases: [([String], [String])] = [
                (
                    ["--add-host", "nocolon"],
                    [#"invalid argument "nocolon" for "--add-host" flag: bad format for add-host: "nocolon""#]
                ),
                (["--add-host", ":1.2.3.4"], ["bad format for add-host"]),
                (["--add-host", "two\nlines:1.2.3.4"], [#"bad format for add-host: "two\nlines:1.2.3.4""#]),
                (["--add-host", "h:300.1.1.1"], [#"invalid IP address in add-host: "300.1.1.1""#]),
                (
                    ["--dns", "dns.example"],
                    [#"invalid argument "dns.example" for "--dns" flag: dns.example is not an ip address"#]
                ),
                (["--dns-search", "-bad-"], ["-bad- is not a valid domain"]),
                (["--dns-search", "a..b"], ["a..b is not a valid domain"]),
                (["--ip", "10.0.0"], ["invalid IPv4 address: 10.0.0"]),
            ]
            for (flags, naming) in cases {
                expectOneErrorLine(
                    runProcess([berthBinary, "--root", root, "run", "--rm"] + flags + ["busybox", "true"]), naming: naming,
                    status: 125)
            }
            let chroot = berth(root, "run", "--rm", "--isolation", "chroot", "--add-host", "a:1.2.3.4", "busybox", "true")
            expectRefusal(chroot, naming: ["chroot", "/etc/hosts", "--add-host"], status: 125)
            #expect(berth(root, "ps", "-aq").stdout.isEmpty, "nothing created")
        }
    }

    @Test("an --add-host line stays when a peer joins the user network and every hosts file is rewritten")
    func addHostSurvivesRewrite() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "appnet").status == 0)
            net.remember()
            #expect(
                berth(
                    root, "run", "-d", "--name", "first", "--network", "appnet", "--add-host", "x.test:10.5.5.5", "busybox",
                    "sleep", "60"
                )
                .status == 0)
            #expect(berth(root, "run", "-d", "--name", "second", "--network", "appnet", "busybox", "sleep", "60").status == 0)
            net.remember()
            let hosts = berth(root, "exec", "first", "cat", "/etc/hosts").stdout
            let second = ip(root, "second")
            #expect(hosts.contains("10.5.5.5\tx.test\n") && hosts.contains("\(second)\tsecond\n"), "\(hosts)")
        }
    }

    @Test("--ip gives that address (ip addr inside, inspect); the pool never hands it out again; taken or misplaced is refused")
    func fixedAddress() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "appnet").status == 0)
            net.remember()
            // The pool's first address: a plain run would get it.
            let fixed = firstPoolAddress(root, "appnet")
            let run = berth(root, "run", "-d", "--name", "fixed", "--network", "appnet", "--ip", fixed, "busybox", "sleep", "60")
            #expect(run.status == 0, "run: \(run.stderr)")
            net.remember()
            let inside = berth(root, "exec", "fixed", "ip", "-o", "-4", "addr", "show", "eth0").stdout
            #expect(inside.contains("inet \(fixed)/26 "), "eth0: \(inside)")
            #expect(ip(root, "fixed") == fixed)
            #expect(
                berth(root, "inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAMConfig.IPv4Address}}", "fixed").stdout
                    == fixed + "\n")

            #expect(berth(root, "run", "-d", "--name", "other", "--network", "appnet", "busybox", "sleep", "60").status == 0)
            net.remember()
            #expect(ip(root, "other") != fixed, "the pool skips the fixed address: \(ip(root, "other"))")

            let taken = berth(root, "run", "--rm", "--network", "appnet", "--ip", fixed, "busybox", "true")
            expectOneErrorLine(taken, naming: ["Address already in use", fixed], status: 125)
            let takenByPool = berth(root, "run", "--rm", "--network", "appnet", "--ip", ip(root, "other"), "busybox", "true")
            expectOneErrorLine(takenByPool, naming: ["Address already in use"], status: 125)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--network", "appnet", "--ip", "10.250.0.9", "busybox", "true"),
                naming: ["10.250.0.9", "does not belong to any of this network's subnets"], status: 125)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--network", "appnet", "--ip", gateway(root, "appnet"), "busybox", "true"),
                naming: ["gateway"], status: 125)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--ip", "10.233.0.9", "busybox", "true"),
                naming: ["user specified IP address is supported on user defined networks only"], status: 125)
            #expect(lines(berth(root, "ps", "-aq").stdout).count == 2, "the refused runs made nothing")

            // Kept across stop and start; free again after rm.
            #expect(berth(root, "restart", "-t", "0", "fixed").status == 0)
            #expect(berth(root, "exec", "fixed", "ip", "-o", "-4", "addr", "show", "eth0").stdout.contains("inet \(fixed)/26 "))
            #expect(berth(root, "rm", "-f", "fixed").status == 0)
            let reused = berth(
                root, "run", "--rm", "--network", "appnet", "--ip", fixed, "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
            #expect(reused.stdout.contains("inet \(fixed)/26 "), "free again after rm: \(reused)")
        }
    }

    @Test("five parallel runs asking for one --ip: exactly one gets it, the others are refused and leave nothing")
    func fixedAddressRace() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "appnet").status == 0)
            net.remember()
            let fixed = firstPoolAddress(root, "appnet")
            let argv = [berthBinary, "--root", root, "run", "-d", "--network", "appnet", "--ip", fixed, "busybox", "sleep", "30"]
            let results = runConcurrently(Array(repeating: argv, count: 5))
            net.remember()
            #expect(results.filter { $0.status == 0 }.count == 1, "\(results.map(\.stderr))")
            for r in results where r.status != 0 {
                expectOneErrorLine(r, naming: ["Address already in use", fixed], status: 125)
            }
            #expect(lines(berth(root, "ps", "-aq").stdout).count == 1, "the refused runs made no container")
            let leases = readFile(root + "/networks/appnet.leases")
            #expect(leases.split(separator: "\"\(fixed)\"").count == 2, "one lease for the address: \(leases)")
        }
    }

    @Test("--network-alias: another container on the user network reaches it by alias; its hosts file lists the aliases")
    func networkAlias() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "appnet").status == 0)
            net.remember()
            let web = berth(
                root, "run", "-d", "--name", "web", "--network", "appnet", "--network-alias", "www", "--network-alias",
                "site.internal",
                "busybox", "sh", "-c", "mkdir /www && echo aliased > /www/index.html && httpd -f -p 80 -h /www")
            #expect(web.status == 0, "run: \(web.stderr)")
            net.remember()
            let fetched = berth(
                root, "run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
                "cat /etc/hosts; for i in 1 2 3 4 5; do wget -qO- http://site.internal/ && break; sleep 0.2; done")
            net.remember()
            #expect(fetched.stdout.contains("\(ip(root, "web"))\tweb www site.internal\n"), "\(fetched.stdout)")
            #expect(fetched.stdout.hasSuffix("aliased\n"), "fetched by alias: \(fetched.stdout) \(fetched.stderr)")
            #expect(
                berth(root, "inspect", "-f", "{{json .NetworkSettings.Networks.appnet.Aliases}}", "web").stdout
                    == "[\"www\",\"site.internal\"]\n")
            // A container joining later sees the alias too (written at its start).
            #expect(berth(root, "run", "-d", "--name", "late", "--network", "appnet", "busybox", "sleep", "60").status == 0)
            net.remember()
            #expect(berth(root, "exec", "late", "wget", "-qO-", "http://www/").stdout == "aliased\n")
            expectOneErrorLine(
                berth(root, "run", "--rm", "--network-alias", "x", "busybox", "true"),
                naming: ["network-scoped alias is supported only for containers in user defined networks"], status: 125)
        }
    }
}

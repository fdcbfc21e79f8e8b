import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// Networking: every store here has its own bridge name and subnets
/// (config.json), so a test touches only devices and addresses it made. A
/// bridge outlives its containers (as docker0 does), so `leftovers()` is what
/// containers leave (veths, port tables, leases); the end of each test runs
/// `system reset` and checks that nothing at all is left, bridges and their
/// tables included — even when the test failed half-way.
@Suite("Networking", .serialized, .enabled(if: isRoot, "needs root for network namespaces"))
struct NetworkTests {
    /// One test's store and the host-side names that belong to it.
    final class Net {
        let root: String
        let bridge: String
        let subnet: String
        init(_ n: Int) {
            root = makeTempDirectory("net")
            bridge = "bt\(getpid() % 100_000)x\(n)"
            subnet = "10.233.\(n).0/24"
            writeFile(
                root + "/config.json",
                """
                {"bridgeName": "\(bridge)", "bridgeSubnet": "\(subnet)", "networkPool": "10.234.\(n).0/24", "networkPoolPrefix": 26}
                """)
        }

        /// Container IDs (12 hex) and user-network bridges this store ever had.
        var ids: Set<String> = []
        var bridges: Set<String> = []

        func remember() {
            for id in berth(root, "ps", "-aq").stdout.split(separator: "\n") { ids.insert(String(id)) }
            for id in berth(root, "network", "ls", "-q").stdout.split(separator: "\n") where id.count == 12 {
                bridges.insert("br-" + id)
            }
        }

        /// Our links, nftables tables and live leases: those of containers,
        /// and with `bridges` those of the store's networks too.
        func leftovers(bridges withBridges: Bool = false) -> [String] {
            let mine = { (name: String) -> Bool in
                self.ids.contains { name.contains($0) }
                    || withBridges && (name.contains(self.bridge) || self.bridges.contains { name.contains($0) })
            }
            let links = sh("ip -o link show").stdout.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ")
                guard f.count > 1 else { return nil }
                return String(f[1].split(separator: "@")[0].dropLast(f[1].contains("@") ? 0 : 1))
            }.filter(mine).map { "link " + $0 }
            let tables = sh("nft list tables").stdout.split(separator: "\n").map(String.init).filter(mine)
            let leases = FileSystem.list(root + "/networks").filter { $0.hasSuffix(".leases") }.compactMap { f -> String? in
                let text = readFile(root + "/networks/" + f)
                return text.contains("Container") ? "lease \(f): \(text)" : nil
            }
            return links + tables + leases
        }
    }

    private static let counter = Counter()
    final class Counter: @unchecked Sendable { var n = 0; func next() -> Int { n += 1; return n } }

    func withNet(_ body: (Net) throws -> Void) rethrows {
        // An octet of 1…254: the run's own sequence, offset by the PID (a
        // leftover of another run is not reused), wrapped so that the
        // suite can grow past 255 - offset tests.
        let net = Net((Self.counter.next() + Int(getpid() % 48) * 5) % 254 + 1)
        defer {
            net.remember()
            for id in net.ids { berth(net.root, "rm", "-f", id) }
            for n in berth(net.root, "network", "ls", "--format", "{{.Name}}").stdout.split(separator: "\n")
            where !["bridge", "host", "none"].contains(String(n)) { berth(net.root, "network", "rm", String(n)) }
            #expect(berth(net.root, "system", "reset", "--force").status == 0)
            let left = net.leftovers(bridges: true)
            #expect(left.isEmpty, "left behind: \(left)")
            // Belt and braces: nothing of this test may outlive it.
            for l in left where l.hasPrefix("link ") { sh("ip link del \(l.dropFirst(5)) 2>/dev/null") }
            for t in left where t.hasPrefix("table ") { sh("nft delete \(t)") }
            removeTree(net.root)
        }
        importBusybox(net.root)
        try body(net)
    }

    func ip(_ root: String, _ name: String) -> String {
        berth(root, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).stdout.trimmingSpacesAndNewlines
    }

    @Test("two containers on the default network talk by IP; on a user network by name")
    func containersTalk() {
        withNet { net in
            let root = net.root
            #expect(
                berth(
                    root, "run", "-d", "--name", "srv", "busybox", "sh", "-c",
                    "while true; do echo hello | nc -l -p 8080; done"
                ).status == 0)
            let address = ip(root, "srv")
            #expect(address.hasPrefix("10.233."), "address \(address)")
            let got = berth(
                root, "run", "--rm", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do nc \(address) 8080 && break; sleep 0.2; done")
            #expect(got.stdout == "hello\n", "fetch by IP: \(got.stdout) \(got.stderr)")
            #expect(
                berth(root, "run", "--rm", "busybox", "ping", "-c1", "-W2", "srv").status != 0,
                "the default network does not resolve names, as in Docker")

            #expect(berth(root, "network", "create", "appnet").status == 0)
            net.remember()
            #expect(
                berth(
                    root, "run", "-d", "--name", "web", "--network", "appnet", "busybox", "sh", "-c",
                    "mkdir /www && echo page > /www/index.html && httpd -f -p 80 -h /www"
                ).status == 0)
            let byName = berth(
                root, "run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
                "for i in 1 2 3 4 5; do wget -qO- http://web/ && break; sleep 0.2; done")
            #expect(byName.stdout == "page\n", "fetch by name: \(byName.stdout) \(byName.stderr)")
            let inspect = berth(root, "network", "inspect", "-f", "{{.Name}} {{.Driver}}", "appnet").stdout
            #expect(inspect == "appnet bridge\n")
            net.remember()
        }
    }

    @Test("-p 127.0.0.1:PORT:80 serves httpd to the host; ps, port and inspect show it")
    func publishedPort() {
        withNet { net in
            let root = net.root
            let port = freePort()
            let run = berth(
                root, "run", "-d", "--name", "pub", "-p", "127.0.0.1:\(port):80", "busybox", "sh", "-c",
                "mkdir /www && echo published > /www/index.html && httpd -f -p 80 -h /www")
            #expect(run.status == 0, "run: \(run.stderr)")
            net.remember()
            let fetched = sh(
                "for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -qO- http://127.0.0.1:\(port)/ && break; sleep 0.2; done")
            #expect(fetched.stdout == "published\n", "host fetch: \(fetched.stdout) \(fetched.stderr)")
            #expect(berth(root, "ps", "--format", "{{.Ports}}").stdout == "127.0.0.1:\(port)->80/tcp\n")
            #expect(berth(root, "port", "pub").stdout == "80/tcp -> 127.0.0.1:\(port)\n")
            let ports = berth(root, "inspect", "-f", "{{json .NetworkSettings.Ports}} {{json .HostConfig.PortBindings}}", "pub")
                .stdout
            #expect(ports.contains("\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\(port)\"}]"), "inspect: \(ports)")
            let settings = berth(
                root, "inspect", "-f",
                "{{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}} {{.HostConfig.NetworkMode}} {{.NetworkSettings.Networks.bridge.IPAddress}}",
                "pub"
            ).stdout
            let address = ip(root, "pub")
            #expect(
                settings.hasPrefix("10.233.") && settings.contains(" bridge \(address)") && settings.contains("02:42:0a:e9:"),
                "inspect: \(settings)")
            #expect(berth(root, "rm", "-f", "pub").status == 0)
            #expect(sh("busybox wget -T 1 -qO- http://127.0.0.1:\(port)/").status != 0, "no rule after rm")
        }
    }

    @Test("a host port in use is refused at run with one error line, leaving no container, veth, lease or rule")
    func portInUse() {
        withNet { net in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { close(fd) }
            var a = sockaddr_in(); a.sin_family = sa_family_t(AF_INET); a.sin_addr.s_addr = inet_addr("127.0.0.1")
            let len = socklen_t(MemoryLayout<sockaddr_in>.size)
            #expect(withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } } == 0)
            #expect(listen(fd, 1) == 0)
            var bound = a, blen = len
            _ = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &blen) }
            }
            let port = UInt16(bigEndian: bound.sin_port)
            let run = berth(net.root, "run", "-d", "-p", "127.0.0.1:\(port):80", "busybox", "sleep", "30")
            expectOneErrorLine(run, naming: ["127.0.0.1:\(port)", "already"], status: 125)
            #expect(berth(net.root, "ps", "-aq").stdout.isEmpty, "no container")
            #expect(net.leftovers().isEmpty, "nothing half-made: \(net.leftovers())")
        }
    }

    @Test(
        "twenty parallel runs get twenty distinct addresses; after rm the pool, rules and links are as before, but for the bridge"
    )
    func twentyInParallel() {
        withNet { net in
            let linksBefore = sh("ip -o link show | cut -d: -f2 | sort").stdout
            let tablesBefore = sh("nft list tables | sort").stdout
            let b = shellQuote(berthBinary), r = shellQuote(net.root)
            // posix_spawn all twenty, then reap them (a shell's `wait` hangs
            // here: the test runner's threads leave SIGCHLD blocked).
            var pids: [pid_t] = []
            for i in 0..<20 {
                let script = "exec \(b) --root \(r) run -d busybox sleep 60 </dev/null >/dev/null 2>\(r)/err\(i)"
                var pid: pid_t = 0
                let words: [String] = ["/bin/sh", "-c", script]
                let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
                defer { argv.forEach { free($0) } }
                if posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 { pids.append(pid) }
            }
            var failures = 0
            for pid in pids {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                if status != 0 { failures += 1 }
            }
            let errs = (0..<20).map { readFile(net.root + "/err\($0)") }.joined()
            #expect(pids.count == 20 && failures == 0 && errs.isEmpty, "errors: \(errs)")
            net.remember()
            let ids = berth(net.root, "ps", "-q").stdout.split(separator: "\n").map(String.init)
            #expect(ids.count == 20, "running: \(berth(net.root, "ps", "-a").stdout)")
            let addresses = Set(ids.map { ip(net.root, $0) })
            #expect(addresses.count == 20 && !addresses.contains(""), "addresses: \(addresses.sorted())")
            #expect(sh("ls /sys/class/net/\(net.bridge)/brif | wc -l").stdout.trimmingSpacesAndNewlines == "20")
            #expect(sh("\(b) --root \(r) ps -aq | xargs -n5 -P4 \(b) --root \(r) rm -f >/dev/null").status == 0)
            #expect(berth(net.root, "ps", "-aq").stdout.isEmpty)
            #expect(net.leftovers().isEmpty, "left: \(net.leftovers())")
            let linksAfter = sh("ip -o link show | cut -d: -f2 | sort").stdout
            // The bridge stays, as docker0 does; other suites may add or drop berth0 meanwhile.
            #expect(linksAfter.contains(" \(net.bridge)\n"), "the bridge stays: \(linksAfter)")
            let strip = { (s: String) in
                s.split(separator: "\n").filter { !$0.contains("berth0") && !$0.contains(" bv") && !$0.contains(net.bridge) }
                    .joined(separator: "\n")
            }
            #expect(strip(linksAfter) == strip(linksBefore), "links before:\n\(linksBefore)\nafter:\n\(linksAfter)")
            let stripT = { (s: String) in
                s.split(separator: "\n").filter { !$0.contains("berth-n-berth0") && !$0.contains("berth-n-" + net.bridge) }
                    .joined(separator: "\n")
            }
            #expect(stripT(sh("nft list tables | sort").stdout) == stripT(tablesBefore))
        }
    }

    @Test("the bridge outlives its last container, as docker0; system reset takes it, its rules and the store's state")
    func bridgeStaysUntilReset() {
        withNet { net in
            #expect(berth(net.root, "run", "--rm", "busybox", "true").status == 0)
            #expect(berth(net.root, "run", "-d", "--name", "held", "-v", "data:/data", "busybox", "sleep", "60").status == 0)
            net.remember()
            #expect(berth(net.root, "rm", "-f", "held").status == 0)
            #expect(net.leftovers().isEmpty, "containers left: \(net.leftovers())")
            #expect(fileExists("/sys/class/net/\(net.bridge)"), "the bridge stays after the last container")
            #expect(sh("nft list tables").stdout.contains("berth-n-" + net.bridge))
            // A second run reuses it as it is.
            let again = berth(net.root, "run", "--rm", "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
            #expect(again.status == 0 && again.stdout.contains("10.233."), "again: \(again.stdout) \(again.stderr)")
            // A firewall reload that drops its table is repaired by the next start.
            let table = "berth-n-" + net.bridge
            let masquerades = {
                sh("nft list table ip \(table)").stdout.split(separator: "\n").filter { $0.contains("masquerade") }.count
            }
            #expect(sh("nft delete table ip \(table)").status == 0)
            #expect(berth(net.root, "run", "--rm", "busybox", "true").status == 0)
            #expect(masquerades() == 2, "the table is back: \(sh("nft list table ip \(table)").stdout)")
            // A sysctl turned off is repaired too, with the table still there: its rules are not doubled.
            writeFile("/proc/sys/net/ipv4/conf/\(net.bridge)/route_localnet", "0")
            #expect(berth(net.root, "run", "--rm", "busybox", "true").status == 0)
            #expect(readFile("/proc/sys/net/ipv4/conf/\(net.bridge)/route_localnet").hasPrefix("1"))
            #expect(masquerades() == 2, "rules once: \(sh("nft list table ip \(table)").stdout)")

            let refused = runProcess([berthBinary, "--root", net.root, "system", "reset"], stdin: "n\n")
            #expect(refused.status == 0 && refused.stdout.contains("Are you sure"), "prompts: \(refused.stdout)")
            #expect(fileExists("/sys/class/net/\(net.bridge)"), "answering n changes nothing")
            #expect(berth(net.root, "images", "-q").stdout.count > 0, "answering n keeps the images")

            #expect(berth(net.root, "system", "reset", "--force").status == 0)
            #expect(net.leftovers(bridges: true).isEmpty, "after reset: \(net.leftovers(bridges: true))")
            #expect(berth(net.root, "images", "-q").stdout.isEmpty && berth(net.root, "volume", "ls", "-q").stdout.isEmpty)
            #expect(fileExists(net.root + "/config.json"), "settings stay")
            importBusybox(net.root)  // the fixture's teardown expects a usable store
        }
    }

    @Test("two stores sharing a bridge never hand out one address twice; after a reboot a clash is refused at start")
    func storesShareBridge() {
        withNet { net in
            let other = makeTempDirectory("net2")
            defer { removeTree(other) }  // resets it first: its containers and leases go
            writeFile(other + "/config.json", readFile(net.root + "/config.json"))
            importBusybox(other)
            #expect(berth(net.root, "run", "-d", "--name", "first", "busybox", "sleep", "60").status == 0)
            #expect(berth(other, "run", "-d", "--name", "second", "busybox", "sleep", "60").status == 0)
            net.remember()
            let a = ip(net.root, "first"), b = ip(other, "second")
            #expect(!a.isEmpty && !b.isEmpty && a != b, "first \(a), second \(b)")
            let ping = berth(net.root, "exec", "first", "ping", "-c", "1", "-W", "2", b)
            #expect(ping.status == 0, "first reaches second across stores: \(ping.stdout)")

            // A reboot empties /run: the ledger forgets `first`, whose store still holds its address.
            #expect(berth(net.root, "stop", "-t", "0", "first").status == 0)
            unlink("/run/berth/leases/" + net.bridge)
            #expect(berth(other, "rm", "-f", "second").status == 0)
            #expect(berth(other, "run", "-d", "--name", "third", "busybox", "sleep", "60").status == 0)
            #expect(ip(other, "third") == a, "the other store took the forgotten address")
            let clash = berth(net.root, "start", "first")
            expectOneErrorLine(clash, naming: ["address \(a)", "in use by container", other, "bridgeName"])
            #expect(berth(net.root, "ps", "-a", "--format", "{{.Names}} {{.State}}").stdout.contains("first exited"))
            #expect(berth(other, "rm", "-f", "third").status == 0)
            #expect(berth(net.root, "start", "first").status == 0, "free again")
        }
    }

    @Test("--network none has only lo, up; --network host sees the host's interfaces")
    func noneAndHost() {
        withNet { net in
            let none = berth(net.root, "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
            let lines = none.stdout.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("lo:") && lines[0].contains("UP"), "none: \(none.stdout)")
            // Other tests add and remove veths meanwhile: the host's links before and after.
            var hostLinks = Set(FileSystem.list("/sys/class/net"))
            let host = berth(net.root, "run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net")
            hostLinks.formUnion(FileSystem.list("/sys/class/net"))
            let seen = Set(host.stdout.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "\t" }).map(String.init))
            #expect(!seen.isEmpty && seen.isSubset(of: hostLinks) && seen.contains("lo") && seen.count > 1, "host: \(seen)")
            expectOneErrorLine(
                berth(net.root, "run", "--rm", "--isolation", "chroot", "--network", "bridge", "busybox", "true"),
                naming: ["chroot", "--network host"], status: 125)
            expectOneErrorLine(
                berth(net.root, "run", "--rm", "--network", "nosuch", "busybox", "true"),
                naming: ["nosuch", "not found"], status: 125)
            net.remember()
        }
    }

    @Test("network rm is refused while a container is on the network, and works after")
    func networkRemoveInUse() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "--subnet", "10.235.\(getpid() % 200).0/24", "busy").status == 0)
            #expect(berth(root, "create", "--name", "member", "--network", "busy", "busybox", "true").status == 0)
            net.remember()
            let refused = berth(root, "network", "rm", "busy")
            expectOneErrorLine(refused, naming: ["error while removing network: network busy id", "has active endpoints"])
            #expect(berth(root, "rm", "member").status == 0)
            #expect(berth(root, "network", "rm", "busy").stdout == "busy\n")
            #expect(!berth(root, "network", "ls").stdout.contains("busy"))
            #expect(berth(root, "network", "create", "spare").status == 0)
            net.remember()
            #expect(berth(root, "system", "prune", "-f").stdout.contains("spare"), "system prune removes unused networks")
        }
    }

    @Test("the address is kept across stop/start")
    func addressKept() {
        withNet { net in
            #expect(berth(net.root, "run", "-d", "--name", "keep", "busybox", "sleep", "60").status == 0)
            #expect(berth(net.root, "run", "-d", "--name", "other", "busybox", "sleep", "60").status == 0)
            net.remember()
            let before = ip(net.root, "keep")
            #expect(berth(net.root, "stop", "-t", "0", "keep").status == 0)
            #expect(berth(net.root, "start", "keep").status == 0)
            #expect(ip(net.root, "keep") == before && !before.isEmpty)
            let inside = berth(net.root, "exec", "keep", "ip", "-o", "-4", "addr", "show", "eth0").stdout
            #expect(inside.contains(before + "/24"), "inside: \(inside)")
        }
    }

    @Test("kill -9 of the monitor, then rm -f, leaves no veth and no lease")
    func crashedMonitor() {
        withNet { net in
            #expect(
                berth(net.root, "run", "-d", "--name", "crash", "-p", "127.0.0.1:\(freePort()):80", "busybox", "sleep", "60")
                    .status == 0)
            net.remember()
            let monitor = berth(net.root, "inspect", "-f", "{{.State.MonitorPid}}", "crash").stdout.trimmingSpacesAndNewlines
            kill(Int32(monitor) ?? 0, SIGKILL)
            usleep(200_000)
            #expect(!net.leftovers().isEmpty, "the veth and the lease are there before rm")
            #expect(berth(net.root, "rm", "-f", "crash").status == 0)
            #expect(net.leftovers().isEmpty, "left: \(net.leftovers())")
        }
    }

    @Test(
        "berth killed between writing the host lease ledger's temp file and its rename: the next run removes the temp file; the ledger stays right"
    )
    func killedBeforeLedgerRename() throws {
        try withNet { net in
            #expect(berth(net.root, "run", "-d", "--name", "first", "busybox", "sleep", "60").status == 0)
            net.remember()
            let ledger = "/run/berth/leases/" + net.bridge
            // A run that stops itself (SIGSTOP) with the ledger's temp file
            // written and not yet renamed; spawned here so that we reap it.
            let pid = try #require(
                spawnStopped(
                    [
                        berthBinary, "--root", net.root, "run", "-d", "--name", "killed",
                        "busybox", "sleep", "60",
                    ],
                    hook: ledger))
            let stopped = eventually(20) { readFile("/proc/\(pid)/stat").split(separator: " ").dropFirst(2).first == "T" }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            #expect(stopped, "the run never reached the ledger write")
            let temp = "\(ledger).tmp-\(pid)"
            defer { unlink(temp) }  // nothing of this test may outlive it, even when it fails
            #expect(fileExists(temp), "the killed run left \(temp)")
            let firstIP = ip(net.root, "first")
            // What the killed run had written: its whole new ledger. (Under a
            // full parallel test run another suite's store may have emptied the
            // shared ledger meanwhile; what matters is what the next run does.)
            let written = readFile(temp)
            #expect(written.isEmpty || written.contains(firstIP), "the temp file is the killed run's new ledger: \(written)")
            #expect(
                !readFile(ledger).isEmpty && !readFile(ledger).contains("\"Pid\": \(pid)"),
                "the ledger itself never saw the killed run: \(readFile(ledger))")

            // The next command that takes the host network lock sweeps it.
            #expect(berth(net.root, "run", "-d", "--name", "second", "busybox", "sleep", "60").status == 0)
            net.remember()
            #expect(!fileExists(temp), "\(temp) is still there after the next run")
            #expect(FileSystem.list("/run/berth/leases").filter { $0.hasPrefix(net.bridge + ".tmp-") }.isEmpty)
            let ids = ["first", "second"].map { berth(net.root, "inspect", "-f", "{{.Id}}", $0).stdout.trimmingSpacesAndNewlines }
            let addresses = ["first", "second"].map { ip(net.root, $0) }
            #expect(Set(addresses).count == 2 && addresses.allSatisfy { $0.hasPrefix("10.233.") }, "\(addresses)")
            // The ledger holds exactly the two live containers, at their addresses.
            let entries = try JSONParser.parse(readFile(ledger))
            guard case .object(let members) = entries else { Issue.record("ledger: \(readFile(ledger))"); return }
            #expect(members.map(\.0).sorted() == addresses.sorted(), "ledger: \(readFile(ledger))")
            for (address, id) in zip(addresses, ids) {
                #expect(entries[address]?["Container"]?.stringValue == id, "ledger: \(readFile(ledger))")
            }
            #expect(!berth(net.root, "ps", "-a", "--format", "{{.Names}}").stdout.contains("killed"))
        }
    }

    @Test(
        "berth killed before renaming the store's lease file: the next command sweeps the temp file and the address is free again"
    )
    func killedBeforeStoreLeaseRename() throws {
        try withNet { net in
            let leases = net.root + "/networks/bridge.leases"
            _ = berth(net.root, "network", "ls")  // writes the default network's record
            let pid = try #require(
                spawnStopped(
                    [
                        berthBinary, "--root", net.root, "run", "-d", "--name", "killed",
                        "busybox", "sleep", "60",
                    ], hook: leases))
            let stopped = eventually(20) { readFile("/proc/\(pid)/stat").split(separator: " ").dropFirst(2).first == "T" }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let temp = "\(leases).tmp-\(pid)"
            defer { unlink(temp) }
            #expect(stopped, "the run never reached the lease write")
            #expect(fileExists(temp))
            #expect(berth(net.root, "ps", "-a").status == 0)
            #expect(!fileExists(temp), "opening the store sweeps \(temp)")
            #expect(berth(net.root, "run", "-d", "--name", "next", "busybox", "sleep", "60").status == 0)
            net.remember()
            #expect(
                ip(net.root, "next") == "10.233.\(net.subnet.split(separator: ".")[2]).2",
                "the killed run's address is free again: \(ip(net.root, "next"))")
        }
    }

    @Test("containers on two user networks and the default bridge cannot reach one another; on one network they can")
    func networksIsolated() {
        withNet { net in
            let root = net.root
            for n in ["neta", "netb"] { #expect(berth(root, "network", "create", n).status == 0) }
            net.remember()
            var address: [String: String] = [:]
            // netb's server also publishes a port on neta's gateway, a host
            // address of this test's own: published ports stay reachable.
            let port = freePort()
            var gatewayA = ""
            for n in ["bridge", "neta", "netb"] {
                let publish = n == "netb" ? ["-p", "\(gatewayA):\(port):80"] : []
                #expect(
                    runProcess(
                        [berthBinary, "--root", root, "run", "-d", "--name", "web-\(n)", "--network", n] + publish
                            + ["busybox", "sh", "-c", "mkdir /www && echo \(n) > /www/index.html && httpd -f -p 80 -h /www"]
                    ).status == 0)
                address[n] = ip(root, "web-\(n)")
                if n == "neta" {
                    gatewayA =
                        berth(root, "inspect", "-f", "{{.NetworkSettings.Gateway}}", "web-neta").stdout.trimmingSpacesAndNewlines
                }
            }
            net.remember()
            // One probe container per network fetches every page: a page it
            // reaches prints its network's name, a ping that is answered
            // `ping-NET`. Same network: retried while httpd starts; others: one
            // try each, in parallel, with a timeout (busybox wget -T crashes).
            func fetched(from n: String) -> String {
                let script =
                    ["bridge", "neta", "netb"].map { to in
                        to == n
                            ? "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://\(address[to]!)/ && break; sleep 0.2; done; "
                            : "(timeout 2 wget -qO- http://\(address[to]!)/) & (ping -c1 -W2 \(address[to]!) >/dev/null && echo ping-\(to)) & "
                    }.joined() + "wait"
                return berth(root, "run", "--rm", "--network", n, "busybox", "sh", "-c", script).stdout
            }
            for n in ["bridge", "neta", "netb"] {
                let got = fetched(from: n)
                #expect(got == "\(n)\n", "from \(n), only its own network answers: \(got)")
            }
            let published = berth(
                root, "run", "--rm", "--network", "neta", "busybox", "sh", "-c",
                "for i in 1 2 3 4 5; do wget -qO- http://\(gatewayA):\(port)/ && break; sleep 0.2; done"
            ).stdout
            #expect(published == "netb\n", "netb's port published on a host address is reachable from neta: \(published)")
            // The rules go with the networks: rm one, make another, still isolated.
            #expect(berth(root, "rm", "-f", "web-netb").status == 0)
            #expect(berth(root, "network", "rm", "netb").status == 0)
            #expect(berth(root, "network", "create", "netc").status == 0)
            net.remember()
            #expect(
                berth(
                    root, "run", "-d", "--name", "web-netc", "--network", "netc", "busybox", "sh", "-c",
                    "mkdir /www && echo netc > /www/index.html && httpd -f -p 80 -h /www"
                ).status == 0)
            let netc = ip(root, "web-netc")
            let across = berth(
                root, "run", "--rm", "--network", "neta", "busybox", "sh", "-c",
                "timeout 2 wget -qO- http://\(netc)/; for i in 1 2 3 4 5; do wget -qO- http://\(address["neta"]!)/ && break; sleep 0.2; done"
            ).stdout
            #expect(across == "neta\n", "neta does not reach the new netc: \(across)")
            net.remember()
        }
    }

    @Test(
        "without bridgeSubnet the default bridge takes the first free subnet of its pool, skipping one a host interface holds and one routed"
    )
    func bridgeSkipsRoutedSubnet() {
        withNet { net in
            let n = Int(net.subnet.split(separator: ".")[2])!
            // Dummy interfaces are not in this kernel: a veth pair of the test's own holds the addresses.
            let veth = "bp\(getpid() % 100_000)x\(n)"
            defer { sh("ip link del \(veth) 2>/dev/null") }
            #expect(sh("ip link add \(veth) type veth peer name \(veth)p").status == 0)
            #expect(sh("ip addr add 10.235.\(n).1/26 dev \(veth) && ip addr add 10.234.\(n).1/26 dev \(veth)").status == 0)
            // The second candidate is only routed (no address holds it).
            #expect(
                sh("ip link set \(veth)p up && ip link set \(veth) up && ip route add 10.235.\(n).64/26 dev \(veth)").status == 0)
            writeFile(
                net.root + "/config.json",
                """
                {"bridgeName": "\(net.bridge)", "bridgePools": [{"base": "10.235.\(n).0/24", "size": 26}],
                 "networkPool": "10.234.\(n).0/24", "networkPoolPrefix": 26}
                """)
            let subnet = berth(net.root, "network", "inspect", "-f", "{{json .IPAM.Config}}", "bridge").stdout
            #expect(
                subnet == "[{\"Subnet\":\"10.235.\(n).128/26\",\"Gateway\":\"10.235.\(n).129\"}]\n",
                "10.235.\(n).0/26 is on \(veth), 10.235.\(n).64/26 routed to it: \(subnet)")
            guard subnet.contains("10.235.\(n).128/26") else { return }  // never put a clashing subnet on a bridge
            #expect(berth(net.root, "run", "-d", "--name", "on-bridge", "busybox", "sleep", "60").status == 0)
            net.remember()
            #expect(ip(net.root, "on-bridge") == "10.235.\(n).130")
            #expect(berth(net.root, "network", "create", "pooled").status == 0)
            net.remember()
            let pooled = berth(net.root, "network", "inspect", "-f", "{{json .IPAM.Config}}", "pooled").stdout
            #expect(pooled.contains("\"Subnet\":\"10.234.\(n).64/26\""), "network create skips the host's address too: \(pooled)")
        }
    }
}

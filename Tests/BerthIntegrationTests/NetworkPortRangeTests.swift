import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `-p` with port ranges, as Docker's `nat.ParsePortSpec` reads them.
extension NetworkTests {
    /// `count` consecutive host ports on 127.0.0.1 that nothing has bound now.
    private func freeRange(_ count: Int) -> Int {
        while true {
            let base = Int.random(in: 20_000...40_000)
            let fds = (0..<count).map { bindLocal(base + $0, udp: false) }
            defer { fds.filter { $0 >= 0 }.forEach { close($0) } }
            if fds.allSatisfy({ $0 >= 0 }) { return base }
        }
    }

    /// A socket bound to 127.0.0.1:port (listening, for TCP), or -1.
    private func bindLocal(_ port: Int, udp: Bool) -> Int32 {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0, udp || listen(fd, 1) == 0 else { close(fd); return -1 }
        return fd
    }

    @Test("-p 8080-8082:80-82 publishes each port: the host reaches all three; /udp ranges deliver datagrams")
    func portRange() {
        withNet { net in
            let root = net.root
            let base = freeRange(3)
            let run = berth(
                root, "run", "-d", "--name", "range", "-p", "127.0.0.1:\(base)-\(base + 2):80-82",
                "-p", "127.0.0.1:\(base)-\(base + 1):90-91/udp", "busybox", "sh", "-c",
                "for p in 80 81 82; do mkdir /w$p && echo port$p > /w$p/index.html && httpd -p $p -h /w$p; done; "
                    + "sleep 60")
            #expect(run.status == 0, "run: \(run.stderr)")
            net.remember()
            for (i, port) in [80, 81, 82].enumerated() {
                let got = sh(
                    "for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -qO- http://127.0.0.1:\(base + i)/ && break; sleep 0.2; done")
                #expect(got.stdout == "port\(port)\n", "host port \(base + i): \(got.stdout) \(got.stderr)")
            }
            let ps = berth(root, "ps", "--format", "{{.Ports}}").stdout
            let tcp = (0..<3).map { "127.0.0.1:\(base + $0)->\(80 + $0)/tcp" }
            let udp = (0..<2).map { "127.0.0.1:\(base + $0)->\(90 + $0)/udp" }
            #expect(ps == (tcp + udp).joined(separator: ", ") + "\n", "ps: \(ps)")
            let port = berth(root, "port", "range").stdout
            for (i, p) in [80, 81, 82].enumerated() {
                #expect(port.contains("\(p)/tcp -> 127.0.0.1:\(base + i)\n"), "port: \(port)")
            }
            #expect(port.contains("90/udp -> 127.0.0.1:\(base)\n") && port.contains("91/udp -> 127.0.0.1:\(base + 1)\n"))
            // Busybox has no UDP server: listen in the container's network namespace from the host.
            let pid = berth(root, "inspect", "-f", "{{.State.Pid}}", "range").stdout.trimmingSpacesAndNewlines
            let received = sh(
                "nsenter -t \(pid) -n python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    + "s.bind(('0.0.0.0', 91)); s.settimeout(5); print(s.recv(100).decode(), end='')\" & sleep 0.5; "
                    + "python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    + "[s.sendto(b'datagram', ('127.0.0.1', \(base + 1))) for _ in range(3)]\"; wait")
            #expect(received.stdout == "datagram", "the udp range delivers: \(received.stdout) \(received.stderr)")
            #expect(berth(root, "rm", "-f", "range").status == 0)
            #expect(sh("busybox wget -T 1 -qO- http://127.0.0.1:\(base + 1)/").status != 0, "no rule after rm")
        }
    }

    @Test("-p HOSTRANGE:PORT takes the first free host port of the range; a full range and bad ranges are refused")
    func portRangeOneContainerPort() {
        withNet { net in
            let root = net.root
            let base = freeRange(3)
            let held = bindLocal(base, udp: false)  // some program holds the first port
            defer { close(held) }
            let run = berth(
                root, "run", "-d", "--name", "pick", "-p", "127.0.0.1:\(base)-\(base + 2):80", "busybox", "sh", "-c",
                "mkdir /www && echo picked > /www/index.html && httpd -f -p 80 -h /www")
            #expect(run.status == 0, "run: \(run.stderr)")
            net.remember()
            #expect(berth(root, "port", "pick", "80").stdout == "127.0.0.1:\(base + 1)\n")
            let got = sh(
                "for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -qO- http://127.0.0.1:\(base + 1)/ && break; sleep 0.2; done")
            #expect(got.stdout == "picked\n", "host fetch: \(got.stdout) \(got.stderr)")
            // A second container gets the next one; a third finds the range full.
            #expect(
                berth(root, "run", "-d", "--name", "next", "-p", "127.0.0.1:\(base)-\(base + 2):80", "busybox", "sleep", "60")
                    .status == 0)
            net.remember()
            #expect(berth(root, "port", "next", "80").stdout == "127.0.0.1:\(base + 2)\n")
            let full = berth(root, "run", "-d", "-p", "127.0.0.1:\(base)-\(base + 2):80", "busybox", "true")
            expectOneErrorLine(full, naming: ["\(base)-\(base + 2)", "all ports are allocated"], status: 125)

            // Ports published on their own numbers: ps shows Docker's range form.
            let same = freeRange(2)
            #expect(
                berth(
                    root, "run", "-d", "--name", "same", "-p", "127.0.0.1:\(same)-\(same + 1):\(same)-\(same + 1)", "busybox",
                    "sleep", "60"
                )
                .status == 0)
            net.remember()
            #expect(
                berth(root, "ps", "-f", "name=same", "--format", "{{.Ports}}").stdout
                    == "127.0.0.1:\(same)-\(same + 1)->\(same)-\(same + 1)/tcp\n")
            #expect(berth(root, "rm", "-f", "same").status == 0)

            // A container range on free host ports: 500 distinct ones.
            let wide = berth(root, "create", "--name", "wide", "-p", "127.0.0.1::1000-1499", "busybox")
            #expect(wide.status == 0, "\(wide.stderr)")
            net.remember()
            let chosen = berth(root, "port", "wide").stdout.split(separator: "\n").map { $0.split(separator: ":").last ?? "" }
            #expect(chosen.count == 500 && Set(chosen).count == 500, "\(chosen.count) bindings, \(Set(chosen).count) distinct")
            #expect(berth(root, "rm", "wide").status == 0)

            let mismatch = berth(root, "run", "-d", "-p", "8080-8081:80-82", "busybox", "true")
            expectOneErrorLine(
                mismatch, naming: ["Invalid ranges specified for container and host Ports: 80-82 and 8080-8081"], status: 125)
            let backwards = berth(root, "create", "-p", "8082-8080:80", "busybox")
            expectOneErrorLine(backwards, naming: ["Invalid hostPort: 8082-8080"], status: 125)
            let huge = berth(root, "create", "-p", "80-99999", "busybox")
            expectOneErrorLine(huge, naming: ["Invalid containerPort: 80-99999"], status: 125)
            #expect(berth(root, "ps", "-aq").stdout.split(separator: "\n").count == 2, "no container made by a refusal")
        }
    }
}

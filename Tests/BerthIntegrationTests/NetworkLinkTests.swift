import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `--link NAME[:ALIAS]`, Docker's legacy links, in the Networking suite's
/// stores (own bridge, own subnets, everything checked gone at the end).
extension NetworkTests {
    @Test("--link on the default bridge: the alias in /etc/hosts, reachable, and dockerd's variables; read again at restart")
    func linkOnTheDefaultBridge() {
        withNet { net in
            let root = net.root
            let db = berth(
                root, "run", "-d", "--name", "db", "--expose", "5432", "--expose", "8000-8001", "--expose", "53/udp",
                "-e", "FOO=bar", "busybox", "sleep", "300")
            #expect(db.status == 0, "db: \(db.stderr)")
            net.remember()
            let dbIP = ip(root, "db")
            let dbHost = berth(root, "inspect", "-f", "{{.Config.Hostname}}", "db").stdout.trimmingSpacesAndNewlines
            let web = berth(
                root, "run", "-d", "--name", "web", "--link", "db:my-db", "busybox", "sh", "-c",
                "env | sort > /env; sleep 300")
            #expect(web.status == 0, "web: \(web.stderr)")
            net.remember()
            let hosts = berth(root, "exec", "web", "cat", "/etc/hosts").stdout
            #expect(hosts.contains("\(dbIP)\tmy-db \(dbHost) db\n"), "\(hosts)")
            #expect(berth(root, "exec", "web", "ping", "-c", "1", "-W", "2", "my-db").status == 0)
            let env = berth(root, "exec", "web", "cat", "/env").stdout.split(separator: "\n").map(String.init)
            let linkEnv = env.filter { $0.hasPrefix("MY_DB_") }
            #expect(
                linkEnv == [
                    "MY_DB_ENV_FOO=bar", "MY_DB_NAME=/web/my-db", "MY_DB_PORT=tcp://\(dbIP):5432",
                    "MY_DB_PORT_53_UDP=udp://\(dbIP):53", "MY_DB_PORT_53_UDP_ADDR=\(dbIP)", "MY_DB_PORT_53_UDP_PORT=53",
                    "MY_DB_PORT_53_UDP_PROTO=udp", "MY_DB_PORT_5432_TCP=tcp://\(dbIP):5432",
                    "MY_DB_PORT_5432_TCP_ADDR=\(dbIP)", "MY_DB_PORT_5432_TCP_PORT=5432", "MY_DB_PORT_5432_TCP_PROTO=tcp",
                    "MY_DB_PORT_8000_TCP=tcp://\(dbIP):8000", "MY_DB_PORT_8000_TCP_ADDR=\(dbIP)",
                    "MY_DB_PORT_8000_TCP_END=tcp://\(dbIP):8001", "MY_DB_PORT_8000_TCP_PORT=8000",
                    "MY_DB_PORT_8000_TCP_PORT_END=8001", "MY_DB_PORT_8000_TCP_PORT_START=8000",
                    "MY_DB_PORT_8000_TCP_PROTO=tcp", "MY_DB_PORT_8000_TCP_START=tcp://\(dbIP):8000",
                    "MY_DB_PORT_8001_TCP=tcp://\(dbIP):8001", "MY_DB_PORT_8001_TCP_ADDR=\(dbIP)",
                    "MY_DB_PORT_8001_TCP_PORT=8001", "MY_DB_PORT_8001_TCP_PROTO=tcp",
                ], "\(env)")
            // exec gets them too, as dockerd's exec does.
            let execEnv = berth(root, "exec", "web", "env").stdout.split(separator: "\n").map(String.init)
            #expect(execEnv.filter { $0.hasPrefix("MY_DB_") }.sorted() == linkEnv, "\(execEnv)")
            #expect(
                berth(root, "inspect", "-f", "{{json .HostConfig.Links}}", "web").stdout == "[\"/db:/web/my-db\"]\n")
            // A stopped link refuses the start with dockerd's words; running again, it starts.
            #expect(berth(root, "stop", "-t", "0", "web", "db").status == 0)
            expectOneErrorLine(
                berth(root, "start", "web"), naming: ["Cannot link to a non running container: /db AS /web/my-db"],
                status: 1)
            #expect(berth(root, "start", "db").status == 0)
            #expect(berth(root, "start", "web").status == 0)
            #expect(berth(root, "exec", "web", "ping", "-c", "1", "-W", "2", "my-db").status == 0)
            // A renamed link target is followed, as dockerd follows it: the link names it anew, the alias stays.
            #expect(berth(root, "stop", "-t", "0", "web").status == 0)
            #expect(berth(root, "rename", "db", "db2").status == 0)
            #expect(berth(root, "inspect", "-f", "{{json .HostConfig.Links}}", "web").stdout == "[\"/db2:/web/my-db\"]\n")
            #expect(berth(root, "start", "web").status == 0)
            #expect(berth(root, "exec", "web", "ping", "-c", "1", "-W", "2", "my-db").status == 0)
            // Joining and leaving a user network rewrites the hosts file; the link's line stays.
            #expect(berth(root, "network", "create", "side").status == 0)
            #expect(berth(root, "network", "connect", "side", "web").status == 0)
            #expect(berth(root, "network", "disconnect", "side", "web").status == 0)
            let after = berth(root, "exec", "web", "cat", "/etc/hosts").stdout
            #expect(after.contains("\tmy-db \(dbHost) db2\n"), "\(after)")
        }
    }

    @Test("--link on a user network is an alias for the peer, without variables; bad links are refused with exit 125")
    func linkOnAUserNetworkAndRefusals() {
        withNet { net in
            let root = net.root
            #expect(berth(root, "network", "create", "lnet").status == 0)
            #expect(berth(root, "run", "-d", "--name", "peer", "--network", "lnet", "busybox", "sleep", "300").status == 0)
            net.remember()
            let got = berth(
                root, "run", "--rm", "--network", "lnet", "--link", "peer:pal", "busybox", "sh", "-c",
                "ping -c 1 -W 2 pal >/dev/null && env | grep -c ^PAL_ || true")
            #expect(got.stdout == "0\n", "\(got)")
            for (args, words) in [
                (["--link", "nosuch"], ["could not get container for nosuch", "No such container"]),
                (["--link", String(repeating: "a", count: 10_000)], ["could not get container for", "(10000 characters)"]),
                (["--link", "a:b:c"], ["--link", "bad format for links: a:b:c"]),
                (["--link", "peer:two\nlines"], ["--link", "is not a container name"]),
                (["--link", "peer", "--network", "host"], ["host type networking can't be used with links"]),
                (["--link", "peer", "--network", "none"], ["--link needs a network the containers share"]),
            ] {
                expectOneErrorLine(
                    runProcess([berthBinary, "--root", root, "run", "--rm"] + args + ["busybox", "true"]), naming: words,
                    status: 125)
            }
            let long = runProcess(
                [berthBinary, "--root", root, "run", "--rm", "--link", String(repeating: "a", count: 10_000), "busybox", "true"])
            #expect(long.stderr.utf8.count < 400, "the error repeats a 10,000-character name: \(long.stderr.utf8.count) bytes")
            #expect(berth(root, "ps", "-aq").stdout.split(separator: "\n").count == 1)
        }
    }
}

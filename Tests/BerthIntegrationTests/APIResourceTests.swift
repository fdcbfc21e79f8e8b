import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Volumes, networks and events through the API, with the docker CLI.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI, "needs root and the docker CLI (make deps)"))
struct APIResourceTests {
    @Test func volumesAreTheStoresOwn() {
        withService { s in
            #expect(s.docker("volume", "create", "vol1").stdout == "vol1\n")
            #expect(s.store.berth("volume", "ls", "-q").stdout == "vol1\n")
            let shape = s.docker("volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Mountpoint}}", "vol1")
            #expect(shape.stdout == "vol1 local \(s.store.root)/volumes/vol1/_data\n", "\(shape)")
            #expect(s.docker("run", "--rm", "-v", "vol1:/data", "busybox", "sh", "-c", "echo kept > /data/f").status == 0)
            #expect(s.docker("run", "--rm", "-v", "vol1:/data", "busybox", "cat", "/data/f").stdout == "kept\n")
            #expect(s.docker("create", "--name", "user", "-v", "vol1:/data", "busybox").status == 0)
            #expect(s.docker("volume", "create", "--label", "k=v", "vol2").status == 0)
            #expect(s.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout == "vol2\n")
            #expect(s.docker("volume", "ls", "-q", "--filter", "label=k=v").stdout == "vol2\n")
            #expect(s.docker("volume", "rm", "vol2").status == 0)
            let busy = s.docker("volume", "rm", "vol1")
            #expect(busy.status == 1 && busy.stderr.contains("vol1"), "\(busy)")
            #expect(s.docker("rm", "user").status == 0)
            #expect(s.docker("volume", "rm", "vol1").stdout == "vol1\n")
            let gone = s.docker("volume", "inspect", "vol1")
            #expect(gone.status == 1 && gone.stderr.contains("no such volume"), "\(gone)")
            let driver = s.docker("volume", "create", "-d", "nfs", "v2")
            #expect(driver.status == 1 && driver.stderr.contains("volume driver nfs is not supported"), "\(driver)")
        }
    }

    @Test func networksAreTheStoresOwn() {
        withService { s in
            let name = "apinet\(getpid() % 10000)"
            defer { _ = s.store.berth("network", "rm", name) }
            let id = s.docker("network", "create", name).stdout
            #expect(id.count == 65, "\(id)")
            #expect(s.store.berth("network", "ls", "--format", "{{.Name}}").stdout.contains(name + "\n"))
            #expect(s.docker("network", "inspect", "--format", "{{.Name}} {{.Driver}}", name).stdout == "\(name) bridge\n")
            let addr = s.docker("run", "--rm", "--network", name, "busybox", "sh", "-c", "ip -4 addr show eth0 | grep -c inet")
            #expect(addr.stdout == "1\n", "\(addr)")
            let opts = s.docker("network", "create", "--internal", name + "x")
            #expect(opts.status == 1 && opts.stderr.contains("Internal is not supported"), "\(opts)")
            #expect(s.docker("network", "rm", name).stdout == "\(name)\n")
            #expect(s.docker("network", "inspect", name).status == 1)
        }
    }

    @Test("network ls and inspect show host and none beside the bridges, as dockerd lists them")
    func hostAndNoneAreListed() {
        withService { s in
            let listed = s.docker("network", "ls", "--format", "{{.Name}} {{.Driver}}")
            #expect(listed.stdout.contains("host host\n") && listed.stdout.contains("none null\n"), "\(listed)")
            #expect(listed.stdout.contains("bridge bridge\n"), "\(listed)")
            let filtered = s.docker("network", "ls", "--filter", "driver=null", "--format", "{{.Name}}")
            #expect(filtered.stdout == "none\n", "\(filtered)")
            let run = s.docker("run", "-d", "--network", "none", "--name", "netless", "busybox", "sleep", "100")
            #expect(run.status == 0, "\(run)")
            defer { _ = s.store.berth("rm", "-f", "netless") }
            let none = s.docker("network", "inspect", "-f", "{{.Driver}} {{range .Containers}}{{.Name}}{{end}}", "none")
            #expect(none.stdout == "null netless\n", "\(none)")
            #expect(s.store.berth("network", "inspect", "-f", "{{.Driver}}", "host").stdout == "host\n")
            let removed = s.docker("network", "rm", "none")
            #expect(removed.status == 1 && removed.stderr.contains("none is a pre-defined network"), "\(removed)")
        }
    }

    /// What docker-compose needs of networks: labels, connect with aliases
    /// (a running container gets the interface at once), disconnect.
    @Test func networksConnectDisconnectAndLabels() {
        withService { s in
            let net = "apiconn\(getpid() % 10000)"
            defer {
                _ = s.store.berth("rm", "-f", "c1", "c2")
                _ = s.store.berth("network", "rm", net)
            }
            #expect(s.docker("network", "create", "--label", "team=a", "--attachable", net).status == 0)
            #expect(s.docker("network", "inspect", "-f", "{{.Labels.team}} {{.Attachable}}", net).stdout == "a true\n")
            #expect(s.store.berth("network", "inspect", "-f", "{{.Labels.team}}", net).stdout == "a\n")
            // The list's filters, through the API and the CLI alike.
            #expect(s.docker("network", "ls", "--filter", "label=team=a", "--format", "{{.Name}}").stdout == net + "\n")
            #expect(s.docker("network", "ls", "--filter", "label=team=b", "-q").stdout.isEmpty)
            #expect(
                s.store.berth("network", "ls", "--filter", "label=team", "--format", "{{.Name}} {{.Label \"team\"}}").stdout
                    == net + " a\n")
            let builtin = s.store.berth("network", "ls", "--filter", "type=builtin", "--format", "{{.Name}}").stdout
            #expect(builtin == "bridge\nhost\nnone\n", "\(builtin)")
            #expect(s.docker("network", "ls", "--filter", "dangling=true", "--format", "{{.Name}}").stdout == net + "\n")
            let badKey = s.docker("network", "ls", "--filter", "colour=red")
            #expect(badKey.status == 1 && badKey.stderr.contains("invalid filter 'colour'"), "\(badKey)")
            #expect(s.docker("run", "-d", "--name", "c1", "busybox", "sleep", "300").status == 0)
            let connect = s.docker("network", "connect", "--alias", "web1", net, "c1")
            #expect(connect.status == 0, "\(connect)")
            let aliases = s.docker("inspect", "-f", "{{(index .NetworkSettings.Networks \"\(net)\").Aliases}}", "c1")
            #expect(aliases.stdout == "[web1]\n", "\(aliases)")
            #expect(s.docker("exec", "c1", "ip", "-4", "addr", "show", "eth1").stdout.contains("inet "))
            let peer = s.docker("run", "--rm", "--network", net, "busybox", "ping", "-c", "1", "-W", "2", "web1")
            #expect(peer.status == 0, "a peer reaches the alias: \(peer)")
            #expect(s.docker("network", "disconnect", net, "c1").status == 0)
            #expect(s.docker("exec", "c1", "ip", "link", "show", "eth1").status != 0, "eth1 is gone")
            // dockerd's refusals, through the CLI.
            #expect(s.docker("create", "--name", "c2", "--network", net, "busybox").status == 0)
            let onDefault = s.docker("network", "connect", "--alias", "x", "bridge", "c2")
            #expect(onDefault.status == 1 && onDefault.stderr.contains("network-scoped alias"), "\(onDefault)")
            let twice = s.docker("network", "connect", net, "c2")
            #expect(twice.status == 1 && twice.stderr.contains("already exists in network"), "\(twice)")
            let busy = s.curl("/networks/" + net, "-X", "DELETE", "-w", "\n%{http_code}")
            #expect(busy.stdout.hasSuffix("\n403") && busy.stdout.contains("has active endpoints"), "dockerd's 403: \(busy)")
            let predefined = s.curl("/networks/bridge", "-X", "DELETE", "-w", "\n%{http_code}")
            #expect(predefined.stdout.hasSuffix("\n403"), "\(predefined)")
            let missing = s.docker("network", "connect", net, "nope")
            #expect(missing.status == 1 && missing.stderr.contains("No such container: nope"), "\(missing)")
            let long = s.docker("network", "create", String(repeating: "n", count: 300))
            #expect(long.status == 1 && long.stderr.contains("at most 200 are allowed"), "\(long)")
            let option = s.docker("network", "create", "-o", "com.docker.network.bridge.name=foo", net + "o")
            #expect(option.status == 1 && option.stderr.contains("com.docker.network.bridge.name"), "\(option)")
        }
    }

    /// API 1.44's several networks at create (`docker run --network a --network b`).
    @Test func createJoinsSeveralNetworks() {
        withService { s in
            let (n1, n2) = ("apim1x\(getpid() % 10000)", "apim2x\(getpid() % 10000)")
            defer {
                _ = s.store.berth("rm", "-f", "multi")
                _ = s.store.berth("network", "rm", n1, n2)
            }
            #expect(s.docker("network", "create", n1).status == 0 && s.docker("network", "create", n2).status == 0)
            let run = s.docker(
                "run", "-d", "--name", "multi", "--network", n1, "--network", "name=\(n2),alias=second", "busybox", "sleep",
                "300")
            #expect(run.status == 0, "\(run)")
            #expect(s.store.inspect("multi", "{{len .NetworkSettings.Networks}}") == "2")
            #expect(s.docker("exec", "multi", "ip", "-4", "addr", "show", "eth1").stdout.contains("inet "))
            let peer = s.docker("run", "--rm", "--network", n2, "busybox", "ping", "-c", "1", "-W", "2", "second")
            #expect(peer.status == 0, "the second network's alias resolves: \(peer)")
            // A network that does not exist: dockerd's 404 (on which the docker
            // CLI would try to pull the image), and no container is left.
            let body =
                #"{"Image":"busybox","HostConfig":{"NetworkMode":"\#(n1)"},"NetworkingConfig":{"EndpointsConfig":{"\#(n1)":{},"nosuchnet":{}}}}"#
            let missing = s.curl(
                "/v1.44/containers/create?name=half", "-X", "POST", "-H", "Content-Type: application/json", "-d", body, "-w",
                "\n%{http_code}")
            #expect(missing.stdout.hasSuffix("\n404") && missing.stdout.contains("nosuchnet"), "\(missing)")
            #expect(s.store.berth("ps", "-a", "--format", "{{.Names}}").stdout == "multi\n")
        }
    }

    @Test func eventsStreamWhatTheStoreRecords() {
        withService { s in
            // A `since` in the past replays the log; `until` ends the stream.
            let start = time(nil) - 1
            #expect(s.store.berth("run", "--rm", "--name", "evt", "busybox", "true").status == 0)
            #expect(s.docker("run", "--rm", "--name", "evt2", "busybox", "true").status == 0)
            let until = time(nil) + 1
            let events = s.docker(
                "events", "--since", String(start), "--until", String(until), "--filter", "event=start",
                "--format", "{{.Action}} {{.Actor.Attributes.name}}")
            #expect(events.status == 0 && events.stdout == "start evt\nstart evt2\n", "\(events)")
        }
    }

    @Test func prunesAsTheCLIDoes() {
        withService { s in
            let df = s.docker("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}")
            #expect(df.stdout == "Images 1 0\nContainers 0 0\nLocal Volumes 0 0\nBuild Cache 0 0\n", "\(df)")
            #expect(s.docker("create", "--name", "stopped", "busybox").status == 0)
            #expect(s.docker("run", "-d", "--name", "running", "busybox", "sleep", "300").status == 0)
            let containers = s.docker("container", "prune", "-f")
            #expect(containers.status == 0 && containers.stdout.hasPrefix("Deleted Containers:\n"), "\(containers)")
            #expect(s.store.berth("ps", "-a", "--format", "{{.Names}}").stdout == "running\n")
            #expect(s.docker("volume", "create", "named").status == 0)
            #expect(s.docker("volume", "prune", "-f").stdout.contains("Total reclaimed space"))
            #expect(s.store.berth("volume", "ls", "-q").stdout == "named\n", "named volumes stay without --all")
            #expect(s.docker("volume", "prune", "-af").stdout.contains("named"))
            #expect(s.store.berth("volume", "ls", "-q").stdout.isEmpty)
            #expect(s.docker("tag", "busybox", "extra:1").status == 0)
            #expect(s.docker("rm", "-f", "running").status == 0)
            let images = s.docker("image", "prune", "-af")
            #expect(images.status == 0 && images.stdout.contains("deleted: sha256:"), "\(images)")
            #expect(s.store.berth("images", "-q").stdout.isEmpty)
        }
    }
}

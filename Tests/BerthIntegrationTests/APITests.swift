import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `berth system service` driven by the real docker CLI (DOCKER_HOST on a
/// temporary socket): what a docker user sees, and the same containers
/// seen from `berth` on the same store.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI, "needs root and the docker CLI (make deps)"))
struct APITests {
    @Test("docker ps lists a restarting container as running, as dockerd does and as berth ps does")
    func restartingIsListed() {
        withService { s in
            #expect(
                s.store.berth("run", "-d", "--name", "loop", "--restart", "always", "busybox", "sh", "-c", "exit 3").status == 0)
            var seen = ""
            #expect(
                eventually(20) {
                    guard s.store.inspect("loop", "{{.State.Status}}") == "restarting" else { return false }
                    seen = s.docker("ps", "--format", "{{.Names}} {{.State}}").stdout
                    return seen == "loop restarting\n"
                }, "docker ps: \(seen)")
            #expect(s.store.berth("ps", "--format", "{{.Names}}").stdout.contains("loop"))
            #expect(s.store.berth("rm", "-f", "loop").status == 0)
        }
    }

    @Test func negotiatesVersionsAsDockerd() {
        withService { s in
            let v = s.docker("version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Client.APIVersion}}")
            #expect(v.status == 0, "\(v.stderr)")
            #expect(v.stdout == "1.44 1.41 1.44\n")
            // Docker 20.10's CLI speaks 1.41: served with the prefix.
            let old = s.docker(["version", "--format", "{{.Client.APIVersion}}"], env: ["DOCKER_API_VERSION": "1.41"])
            #expect(old.status == 0 && old.stdout == "1.41\n", "\(old.stderr)")
            // Streams at 1.41: typed raw-stream, framed all the same.
            let streams = s.docker(
                ["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 2"], env: ["DOCKER_API_VERSION": "1.41"])
            #expect(streams.status == 2 && streams.stdout == "out\n" && streams.stderr == "err\n", "\(streams)")
            let tooOld = s.docker(["ps"], env: ["DOCKER_API_VERSION": "1.40"])
            #expect(tooOld.status == 1)
            #expect(tooOld.stderr.contains("client version 1.40 is too old. Minimum supported API version is 1.41"))
            let info = s.docker("info", "--format", "{{.ServerVersion}} {{.OSType}} {{.Images}} {{.DockerRootDir}}")
            #expect(info.stdout == "0.1.0 linux 1 \(s.store.root)\n", "\(info.stderr)")
            // Root's service is not rootless (RootlessTests.apiService checks the other side).
            #expect(s.docker("info", "--format", "{{json .SecurityOptions}}").stdout == "[\"name=seccomp,profile=default\"]\n")
            // HEAD and GET ping carry the version; unknown paths are dockerd's 404.
            let head = s.curl("/_ping", "-I")
            #expect(head.stdout.contains("Api-Version: 1.44"), "\(head.stdout)")
            let unknown = s.curl("/v1.44/nosuch", "-w", "\n%{http_code}")
            #expect(unknown.stdout == "{\"message\":\"page not found\"}\n\n404", "\(unknown.stdout)")
            // Only root (and a `berth` group) reach the socket.
            var st = stat()
            #expect(stat(s.socket, &st) == 0 && st.st_mode & 0o777 == 0o660 && st.st_uid == 0)
        }
    }

    @Test func containerLifecycleIsTheCLIsOwn() {
        withService { s in
            let id = s.docker("run", "-d", "--name", "web", "busybox", "sleep", "300").stdout
            #expect(id.count == 65, "run -d prints the ID")
            // The same container from both sides.
            #expect(s.store.status("web")?.hasPrefix("Up") == true)
            #expect(s.docker("ps", "--format", "{{.Names}} {{.State}}").stdout == "web running\n")
            #expect(s.docker("pause", "web").stdout == "web\n")
            #expect(s.store.status("web")?.hasSuffix("(Paused)") == true)
            #expect(s.docker("ps", "--filter", "status=paused", "-q").stdout == String(id.prefix(12)) + "\n")
            #expect(s.docker("unpause", "web").status == 0)
            let top = s.docker("top", "web")
            #expect(top.stdout.hasPrefix("UID") && top.stdout.contains("sleep 300"), "\(top)")
            let stats = s.docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.CPUPerc}}", "web")
            #expect(stats.status == 0 && stats.stdout.hasPrefix("web 1 ") && stats.stdout.hasSuffix("%\n"), "\(stats)")
            // Already running: dockerd's 304, which the CLI reports as done.
            let again = s.docker("start", "web")
            #expect(again.status == 0 && again.stdout == "web\n", "\(again.stderr)")
            let busy = s.docker("rm", "web")
            #expect(busy.status == 1)
            #expect(busy.stderr.hasPrefix("Error response from daemon: You cannot remove a running container"), "\(busy.stderr)")
            #expect(s.docker("stop", "-t", "1", "web").stdout == "web\n")
            #expect(s.store.status("web")?.hasPrefix("Exited (137)") == true)
            #expect(s.docker("stop", "web").status == 0, "stopping a stopped container is not an error")
            let dead = s.docker("kill", "web")
            #expect(dead.status == 1 && dead.stderr.contains("is not running"), "\(dead.stderr)")
            // Made by berth, driven over the API, and the other way round.
            let cli = s.store.berth("create", "--name", "fromcli", "busybox", "sh", "-c", "exit 4")
            #expect(cli.status == 0)
            #expect(s.docker("start", "fromcli").status == 0)
            #expect(s.docker("wait", "fromcli").stdout == "4\n")
            #expect(s.docker("rename", "fromcli", "renamed").status == 0)
            #expect(s.store.inspect("renamed", "{{.State.ExitCode}}") == "4")
            #expect(s.store.berth("restart", "-t", "1", "web").status == 0)
            #expect(s.docker("inspect", "--format", "{{.State.Status}} {{.Name}}", "web").stdout == "running /web\n")
            #expect(s.docker("kill", "web").status == 0)
            #expect(s.store.status("web")?.hasPrefix("Exited (137)") == true)
            #expect(s.docker("rm", "-f", "web", "renamed").status == 0)
            #expect(s.store.berth("ps", "-aq").stdout.isEmpty)
            let gone = s.docker("rm", "nosuch")
            #expect(gone.status == 1 && gone.stderr == "Error response from daemon: No such container: nosuch\n")
        }
    }

    @Test func runAttachesWaitsAndRemoves() {
        withService { s in
            let hi = s.docker("run", "--rm", "busybox", "echo", "hi")
            #expect(hi.status == 0 && hi.stdout == "hi\n" && hi.stderr.isEmpty, "\(hi)")
            // stdout and stderr stay apart (multiplexed frames); the exit code is the container's.
            let both = s.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
            #expect(both.status == 3 && both.stdout == "out\n" && both.stderr == "err\n", "\(both)")
            // stdin to the end, then its end (the CLI's half-close).
            let counted = s.docker("run", "--rm", "-i", "busybox", "wc", "-l", stdin: "a\nb\n")
            #expect(counted.status == 0 && counted.stdout.withoutBlanks == "2", "\(counted)")
            let missing = s.docker("run", "--rm", "busybox", "/nope")
            #expect(missing.status == 127 && missing.stderr.contains("/nope"), "\(missing)")
            let kept = s.docker("run", "--name", "nope", "busybox", "/nope")
            #expect(kept.status == 127, "\(kept)")
            #expect(s.docker("rm", "nope").status == 0)
            #expect(s.store.berth("ps", "-aq").stdout.isEmpty, "--rm left containers")
            let named = s.docker(
                "run", "--name", "kept", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /f; echo kept; exit 2")
            #expect(named.status == 2 && named.stdout == "kept\n")
            #expect(s.store.status("kept")?.hasPrefix("Exited (2)") == true)
            let size = s.docker("ps", "-as", "--format", "{{.Size}}")
            #expect(size.stdout.hasPrefix("100kB (virtual "), "ps -s: \(size)")
            // start -a: inspect, attach, wait, start; the exit code is the container's.
            let again = s.docker("start", "-a", "kept")
            #expect(again.status == 2 && again.stdout == "kept\n", "\(again)")
            // dockerd's events for an attached run: the attach before the start, once.
            #expect(s.docker("run", "--rm", "--name", "evt", "busybox", "true").status == 0)
            let actions = s.store.berth(
                "events", "--since", "1m", "--until", "0s", "--filter", "container=evt", "--format", "{{.Action}}")
            #expect(actions.stdout == "create\nattach\nstart\ndie\ndestroy\n", "\(actions)")
            // An attach to a running container is recorded too.
            #expect(s.docker("run", "-d", "--name", "att", "busybox", "sh", "-c", "sleep 1; echo late").status == 0)
            let attached = s.docker("attach", "att")
            #expect(attached.stdout == "late\n", "\(attached)")
            let attachEvents = s.store.berth(
                "events", "--since", "1m", "--until", "0s", "--filter", "container=att", "--filter", "event=attach")
            #expect(attachEvents.stdout.split(separator: "\n").count == 1, "\(attachEvents)")
        }
    }

    @Test func execAndLogs() {
        withService { s in
            let script = "echo one; echo three; sleep 0.3; echo two >&2; while true; do sleep 1; done"
            #expect(s.docker("run", "-d", "--name", "app", "busybox", "sh", "-c", script).status == 0)
            let out = s.docker("exec", "app", "sh", "-c", "echo from-exec; echo to-err >&2; exit 7")
            #expect(out.status == 7 && out.stdout == "from-exec\n" && out.stderr == "to-err\n", "\(out)")
            let notFound = s.docker("exec", "app", "nosuchcmd")
            #expect(notFound.status == 127, "\(notFound)")
            // dockerd's exec events, each once, with the same exec ID and the exit code at the end.
            let execEvents = s.store.berth(
                "events", "--since", "1m", "--until", "0s", "--filter", "container=app", "--format",
                "{{.Action}} {{index .Actor.Attributes \"exitCode\"}}"
            ).stdout.split(separator: "\n").filter { $0.hasPrefix("exec") }
            #expect(
                execEvents == [
                    "exec_create: sh -c echo from-exec; echo to-err >&2; exit 7 <no value>",
                    "exec_start: sh -c echo from-exec; echo to-err >&2; exit 7 <no value>", "exec_die 7",
                    "exec_create: nosuchcmd <no value>", "exec_start: nosuchcmd <no value>", "exec_die 127",
                ], "\(execEvents)")
            let piped = s.docker("exec", "-i", "app", "cat", stdin: "through stdin\n")
            #expect(piped.stdout == "through stdin\n", "\(piped)")
            #expect(eventually { s.docker("logs", "app").stderr == "two\n" })
            let logs = s.docker("logs", "app")
            #expect(logs.stdout == "one\nthree\n" && logs.stderr == "two\n", "\(logs)")
            let tail = s.docker("logs", "--tail", "1", "app")
            #expect(tail.stdout.isEmpty && tail.stderr == "two\n", "\(tail)")
            let stamped = s.docker("logs", "-t", "--tail", "2", "app").stdout
            #expect(stamped.hasSuffix("Z three\n") && stamped.hasPrefix("20"), "\(stamped)")
            #expect(s.docker("stop", "-t", "1", "app").status == 0)
            let stopped = s.docker("exec", "app", "true")
            #expect(stopped.status == 1 && stopped.stderr.contains("is not running"), "\(stopped)")
            // -f on a container that ends: everything, then the command ends by itself.
            #expect(
                s.docker("run", "-d", "--name", "short", "busybox", "sh", "-c", "for i in 1 2 3; do echo l$i; sleep 0.3; done")
                    .status == 0)
            let followed = s.docker("logs", "-f", "short")
            #expect(followed.status == 0 && followed.stdout == "l1\nl2\nl3\n", "\(followed)")
        }
    }

    @Test func imagesInspectTagAndRemove() {
        withService { s in
            let images = s.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}")
            #expect(images.stdout.hasPrefix("busybox:latest "), "\(images)")
            let id = s.docker("inspect", "--format", "{{.Id}}", "busybox").stdout
            #expect(id.hasPrefix("sha256:") && id.count == 72, "\(id)")
            let history = s.docker("history", "--format", "{{.ID}} {{.CreatedBy}}", "busybox")
            #expect(history.status == 0 && history.stdout.hasPrefix(String(id.dropFirst(7).prefix(12)) + " "), "\(history)")
            #expect(s.docker("tag", "busybox", "example.com/my/bb:1").status == 0)
            #expect(s.store.berth("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.contains("example.com/my/bb:1"))
            // The list's filters: `docker images NAME` sends reference=NAME.
            let byName = s.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "example.com/my/*")
            #expect(byName.stdout == "example.com/my/bb:1\n", "\(byName)")
            #expect(s.docker("images", "-q", "--filter", "reference=busybox:latest").stdout.count == 13)
            #expect(s.docker("images", "-q", "--filter", "dangling=true").stdout.isEmpty)
            #expect(s.docker("images", "-q", "--filter", "label=nosuch").stdout.isEmpty)
            let badKey = s.docker("images", "--filter", "colour=red")
            #expect(badKey.status == 1 && badKey.stderr.contains("invalid filter 'colour'"), "\(badKey)")
            #expect(s.docker("rmi", "example.com/my/bb:1").stdout == "Untagged: example.com/my/bb:1\n")
            #expect(s.docker("create", "--name", "user", "busybox").status == 0)
            let inUse = s.docker("rmi", "busybox")
            #expect(inUse.status == 1 && inUse.stderr.contains("conflict: unable to remove repository reference"), "\(inUse)")
            let shape = s.docker(
                "inspect", "--format", "{{.State.Status}} {{.Config.Image}} {{.HostConfig.LogConfig.Type}}", "user")
            #expect(shape.stdout == "created busybox json-file\n", "\(shape)")
            let none = s.docker("inspect", "nosuch")
            #expect(none.status == 1 && none.stderr.contains("No such object: nosuch"), "\(none)")
            #expect(s.docker("rm", "user").status == 0)
            let removed = s.docker("rmi", "busybox")
            #expect(removed.status == 0 && removed.stdout.contains("Deleted: sha256:"), "\(removed)")
            #expect(s.store.berth("images", "-q").stdout.isEmpty)
        }
    }

    @Test func refusesWhatBerthDoesNotSupport() {
        withService { s in
            // A field that would change confinement is refused, never ignored.
            // docker create exits 1 on a daemon's refusal, docker run 125.
            let storage = s.docker("create", "--storage-opt", "size=1G", "busybox")
            #expect(storage.status == 1)
            #expect(storage.stderr.contains("HostConfig.StorageOpt is not supported by Berth"), "\(storage)")
            let rt = s.docker("run", "-d", "--cpu-rt-runtime", "950000", "busybox")
            #expect(rt.status == 125 && rt.stderr.contains("HostConfig.CpuRealtimeRuntime"), "\(rt)")
            let weight = s.docker("create", "--blkio-weight", "300", "busybox")
            #expect(weight.status == 1 && weight.stderr.contains("HostConfig.BlkioWeight"), "\(weight)")
            let aliased = #"{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["db"]}}}}"#
            let alias = s.curl("/containers/create", "-X", "POST", "-d", aliased, "-w", "\n%{http_code}")
            #expect(alias.stdout.hasSuffix("\n400") && alias.stdout.contains("network-scoped alias"), "\(alias)")
            #expect(s.store.berth("ps", "-aq").stdout.isEmpty, "a refused create left a container")
            // What the CLI refuses, the API refuses with the same words.
            _ = s.docker("create", "--name", "taken", "busybox")
            let dup = s.docker("create", "--name", "taken", "busybox")
            #expect(dup.status == 1 && dup.stderr.contains("Conflict. The container name \"/taken\" is already in use"), "\(dup)")
            let body = #"{"Image":"busybox","HostConfig":{"Privileged":false,"Runtime":"crun"}}"#
            let raw = s.curl(
                "/v1.44/containers/create", "-X", "POST", "-H", "Content-Type: application/json", "-d", body, "-w",
                "\n%{http_code}")
            #expect(raw.stdout.hasSuffix("\n400") && raw.stdout.contains("HostConfig.Runtime"), "\(raw.stdout)")
        }
    }

    /// A monitor re-executes its own binary for a restart and for health
    /// checks: started by the service, that binary is berth-service, which
    /// must answer those entries as berth does (InternalEntry).
    @Test func restartsAndHealthChecksOfServiceStartedContainers() {
        withService { s in
            let imported = s.store.berth(
                "import", "-c", "CMD [\"sh\"]", "-c", "HEALTHCHECK --interval=200ms CMD true", busyboxTar, "checked")
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(s.docker("run", "-d", "--name", "hc", "checked", "sleep", "100").status == 0)
            #expect(eventually(15) { s.store.status("hc")?.hasSuffix("(healthy)") == true }, "\(s.store.status("hc") ?? "")")
            let run = s.docker(
                "run", "-d", "--name", "again", "--restart", "on-failure:2", "busybox", "sh", "-c", "sleep 0.3; exit 3")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(eventually(20) { s.store.status("again")?.hasPrefix("Exited (3)") == true })
            #expect(s.store.inspect("again", "{{.RestartCount}}") == "2")
        }
    }

    @Test func survivesItsOwnRestart() {
        withService { s in
            #expect(s.docker("run", "-d", "--name", "keep", "busybox", "sleep", "300").status == 0)
            s.stop(signal: SIGKILL)
            #expect(s.store.status("keep")?.hasPrefix("Up") == true, "the container outlives the service")
            s.start()
            #expect(s.docker("ps", "--format", "{{.Names}}").stdout == "keep\n")
            #expect(s.docker("rm", "-f", "keep").status == 0)
            s.stop()
            #expect(!fileExists(s.socket), "SIGTERM leaves the socket file behind")
            s.start()
            // --time: an idle service exits by itself and removes its socket,
            // also after serving a hijacked stream (attach) and a wait.
            s.stop()
            let idle = s.dir + "/idle.sock"
            let script =
                "\(shellQuote(berthBinary)) --root \(shellQuote(s.store.root)) system service --time 2 unix://\(idle) & "
                + "for i in $(seq 50); do [ -S \(idle) ] && break; sleep 0.1; done; "
                + "DOCKER_HOST=unix://\(idle) DOCKER_CONFIG=\(s.dir)/docker-config docker run --rm busybox echo served; wait $!"
            let started = now()
            let served = runProcess(["timeout", "30", "sh", "-c", script])
            #expect(served.status == 0 && served.stdout == "served\n", "\(served)")
            #expect(now() - started < 15, "the idle service did not exit")
            #expect(!fileExists(idle))
        }
    }
}

extension String {
    fileprivate var withoutBlanks: String { String(filter { $0 != " " && $0 != "\n" }) }
}

/// systemd's socket activation, through systemd's own `systemd-socket-activate`.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI && hasSocketActivate, "needs root, docker and systemd-socket-activate"))
struct APISocketActivationTests {
    @Test func servesTheSocketSystemdPasses() {
        withService { s in
            s.stop()
            let sock = s.dir + "/activated.sock"
            let script =
                "systemd-socket-activate -l \(sock) \(shellQuote(berthBinary)) --root \(shellQuote(s.store.root)) "
                + "system service --time 2 2>/dev/null & "
                + "for i in $(seq 50); do [ -S \(sock) ] && break; sleep 0.1; done; "
                + "DOCKER_HOST=unix://\(sock) DOCKER_CONFIG=\(s.dir)/docker-config docker version --format '{{.Server.APIVersion}}'; "
                + "wait $!"
            let served = runProcess(["timeout", "30", "sh", "-c", script])
            #expect(served.status == 0 && served.stdout == "1.44\n", "\(served)")
        }
    }
}

let hasSocketActivate = runProcess(["sh", "-c", "command -v systemd-socket-activate"]).status == 0

/// The create body's fields that map onto `berth create`'s flags.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI, "needs root and the docker CLI (make deps)"))
struct APICreateMappingTests {
    @Test func labelsRestartExposeHostsDnsAndAliases() {
        withService { s in
            let net = "apimap\(getpid() % 10000)"
            defer { _ = s.store.berth("network", "rm", net) }
            #expect(s.docker("network", "create", net).status == 0)
            let run = s.docker(
                "run", "-d", "--name", "lab", "-l", "app=web", "--restart", "on-failure:2", "--expose", "7000",
                "--network", net, "--network-alias", "webby", "--add-host", "foo:1.2.3.4", "--dns", "9.9.9.9",
                "busybox", "sleep", "300")
            #expect(run.status == 0, "\(run)")
            #expect(s.docker("ps", "--filter", "label=app=web", "--format", "{{.Names}} {{.Ports}}").stdout == "lab 7000/tcp\n")
            #expect(
                s.store.inspect("lab", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}")
                    == "on-failure 2")
            #expect(
                s.docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.Config.Labels.app}}", "lab").stdout
                    == "on-failure web\n")
            #expect(s.docker("exec", "lab", "grep", "foo", "/etc/hosts").stdout == "1.2.3.4\tfoo\n")
            #expect(s.docker("exec", "lab", "cat", "/etc/resolv.conf").stdout.contains("nameserver 9.9.9.9"))
            let peer = s.docker("run", "--rm", "--network", net, "busybox", "cat", "/etc/hosts")
            #expect(peer.stdout.contains("\tlab webby\n"), "\(peer)")
            #expect(s.docker("rm", "-f", "lab").status == 0)
        }
    }
}

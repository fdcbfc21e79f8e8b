import Testing
import BerthCore
@testable import BerthEngine

private func container(_ status: ContainerStatus) -> Container {
    var c = Container(
        id: String(repeating: "ab", count: 32), name: "box", image: "sha256:1", imageName: "busybox",
        command: ["sh"], env: [], workingDir: "/", user: "", hostname: "abababababab", tty: false,
        openStdin: false, autoRemove: false, isolation: "namespaces", storage: "overlay")
    switch status {
    case .created: break
    case .running: c.state.setRunning(pid: 42, pidStartTime: 7, monitorPid: 41, monitorStartTime: 6)
    case .paused:
        c.state.setRunning(pid: 42, pidStartTime: 7, monitorPid: 41, monitorStartTime: 6)
        c.state.setPaused()
    case .exited: c.state.setStopped(exitCode: 137)
    default: Issue.record("no fixture for \(status)")
    }
    return c
}

private func refusal(_ c: Container, _ verb: ContainerVerb, ref: String = "box") -> BerthError? {
    do { try c.ensureState(for: verb, ref: ref) } catch { return error }
    return nil
}

@Suite("container state: named transitions and one ensureState")
struct ContainerStateTests {
    @Test("setRunning then setStopped set every related field, and the record keeps Docker's words")
    func transitions() throws {
        var c = container(.created)
        c.state.setStartFailed(exitCode: 127, error: "exec: not found")
        #expect(c.state.status == .created && c.state.exitCode == 127 && c.state.error == "exec: not found")
        c.state.setRunning(pid: 42, pidStartTime: 7, monitorPid: 41, monitorStartTime: 6)
        #expect(c.state.status == .running && c.state.exitCode == 0 && c.state.error.isEmpty && c.state.startedAt != nil)
        c.state.setStopped(exitCode: 137, oomKilled: true)
        #expect(c.state.status == .exited && c.state.pid == 0 && c.state.monitorPid == 0 && c.state.oomKilled)
        #expect(c.state.finishedAt != nil)
        c.state.setStartFailed(exitCode: 126, error: "permission denied")
        #expect(c.state.status == .exited, "a failed restart of a container that ran stays Exited, as Docker")
        let reread = try Container(json: try JSONParser.parse(c.json.compact))
        #expect(reread.state == c.state, "the record keeps every field of the state")
        #expect(c.json["State"]?["Status"]?.stringValue == "exited")
    }

    @Test("HostConfig.CgroupParent is the parent as given, as dockerd shows it; CgroupPath the cgroup; old records read both")
    func cgroupParentAndPath() throws {
        var c = container(.created)
        c.cgroupPath = "/sys/fs/cgroup/freezer/ci/jobs/\(c.id)"
        c.cgroupParent = "/ci/jobs/"
        #expect(c.json["HostConfig"]?["CgroupParent"]?.stringValue == "/ci/jobs/")
        #expect(c.json["CgroupPath"]?.stringValue == c.cgroupPath)
        let reread = try Container(json: try JSONParser.parse(c.json.compact))
        #expect(reread.cgroupPath == c.cgroupPath && reread.cgroupParent == "/ci/jobs/")
        // A record from before CgroupPath held the path in CgroupParent.
        for (path, parent) in [
            ("/sys/fs/cgroup/freezer/berth/\(c.id)", ""), ("/sys/fs/cgroup/freezer/ci/jobs/\(c.id)", "/ci/jobs"),
            ("/sys/fs/cgroup/unified/berth/\(c.id)", ""),
        ] {
            func replace(_ text: String, _ what: String, _ with: String) -> String {
                text.split(separator: what, omittingEmptySubsequences: false).joined(separator: with)
            }
            let old = replace(
                replace(c.json.compact, "\"CgroupPath\":\"\(c.cgroupPath)\",", ""),
                "\"CgroupParent\":\"/ci/jobs/\"", "\"CgroupParent\":\"\(path)\"")
            #expect(!old.contains("CgroupPath"))
            let read = try Container(json: try JSONParser.parse(old))
            #expect(read.cgroupPath == path && read.cgroupParent == parent, "\(path): \(read.cgroupParent)")
        }
    }

    @Test("a monitor that vanished leaves Exited (255) with the reason")
    func lost() {
        var c = container(.running)
        c.state.setLost()
        #expect(c.state.status == .exited && c.state.exitCode == 255 && c.state.error.contains("monitor is gone"))
    }

    @Test("an unknown status in a record reads as dead, never as running")
    func unknownStatus() throws {
        let text = container(.running).json.compact.split(separator: "\"running\"", omittingEmptySubsequences: false)
            .joined(separator: "\"zombie\"")
        let c = try Container(json: try JSONParser.parse(text))
        #expect(c.state.status == .dead && !c.state.isActive)
    }

    @Test("refusals use Docker 20.10's words and the invalidState kind")
    func refusals() {
        let id = container(.created).id
        #expect(refusal(container(.paused), .pause)?.message == "Container \(id) is already paused")
        #expect(refusal(container(.exited), .pause)?.message == "Container \(id) is not running")
        #expect(refusal(container(.running), .unpause)?.message == "Container \(id) is not paused")
        #expect(refusal(container(.paused), .exec)?.message == "Container box is paused, unpause the container before exec")
        #expect(refusal(container(.exited), .exec)?.message == "Container \(id) is not running")
        #expect(refusal(container(.exited), .attach)?.message == "You cannot attach to a stopped container, start it first")
        #expect(refusal(container(.paused), .start)?.message == "cannot start a paused container, try unpause instead")
        #expect(refusal(container(.created), .kill)?.message == "Cannot kill container: box: Container \(id) is not running")
        #expect(refusal(container(.running), .remove)?.message.hasPrefix("You cannot remove a running container \(id).") == true)
        #expect(refusal(container(.paused), .remove)?.message.hasPrefix("You cannot remove a paused container") == true)
        #expect(refusal(container(.running), .pause)?.kind == nil)
        #expect(refusal(container(.exited), .start) == nil && refusal(container(.running), .start) == nil)
        var dead = container(.created)
        dead.state.setDead("the monitor died while starting it")
        #expect(refusal(dead, .start)?.message == "cannot start container box: it is dead: the monitor died while starting it")
        #expect(refusal(dead, .remove) == nil, "a dead container can only be removed")
        #expect(refusal(container(.exited), .pause)?.kind == .invalidState)
    }
}

@Suite("flag values parse as Docker's do: mounts, ports, environment")
struct FlagValueTests {
    @Test("-v forms: bind, named, anonymous, read-only")
    func volumes() throws {
        let bind = try MountSpec.parseVolume("/srv:/data:ro")
        #expect(bind.kind == .bind && bind.source == "/srv" && bind.target == "/data" && bind.readonly)
        let named = try MountSpec.parseVolume("cache:/var/cache")
        #expect(named.kind == .volume && named.source == "cache" && !named.readonly)
        let anonymous = try MountSpec.parseVolume("/scratch")
        #expect(anonymous.kind == .volume && anonymous.source.isEmpty)
        #expect(throws: BerthError.self) { try MountSpec.parseVolume("/a:/b:rx") }
        #expect(throws: BerthError.self) { try MountSpec.parseVolume("/a:/") }
        #expect(throws: BerthError.self) { try MountSpec.parseVolume("/a:/x/../y") }
        #expect(throws: BerthError.self) { try MountSpec.parseVolume("-bad:/x") }
    }

    @Test("--mount and --tmpfs keys, with Docker's tmpfs defaults")
    func mounts() throws {
        let m = try MountSpec.parseMount("type=bind,source=/x,target=/y,readonly")
        #expect(m.kind == .bind && m.source == "/x" && m.target == "/y" && m.readonly)
        let t = try MountSpec.parseMount("type=tmpfs,target=/t,tmpfs-size=1m")
        #expect(t.kind == .tmpfs && t.options.contains("size=1m") && t.options.contains("mode=1777"))
        #expect(try MountSpec.parseTmpfs("/run").options == "mode=1777,size=65536k")
        #expect(throws: BerthError.self) { try MountSpec.parseMount("type=bind,target=/y") }
        #expect(throws: BerthError.self) { try MountSpec.parseMount("type=nfs,target=/y") }
    }

    @Test("-p forms: container only, host:container, ip:host:container, ip::container, /udp")
    func ports() throws {
        let p = try PortBinding.parse("127.0.0.1:8080:80/udp")
        #expect(p.hostIP == "127.0.0.1" && p.hostPort == 8080 && p.containerPort == 80 && p.proto == "udp")
        #expect(p.psText == "127.0.0.1:8080->80/udp")
        let any = try PortBinding.parse("127.0.0.1::80")
        #expect(any.hostPort == 0 && any.hostIP == "127.0.0.1")
        #expect(try PortBinding.parse("80").hostIP == "0.0.0.0")
        for bad in ["0", "70000", "x:80", "1:2:3:4", "80/sctp", "300.1.1.1:80:80", ""] {
            #expect(throws: BerthError.self, "\(bad)") { try PortBinding.parse(bad) }
        }
    }

    @Test("-p ranges: pairs, a host range for one port, Docker's errors for mismatched or bad ranges")
    func portRanges() throws {
        let pairs = try PortRequest.parse("127.0.0.1:8080-8082:80-82/udp")
        #expect(pairs.map(\.binding.hostPort) == [8080, 8081, 8082] && pairs.map(\.binding.containerPort) == [80, 81, 82])
        #expect(pairs.allSatisfy { $0.hostRange == nil && $0.binding.proto == "udp" && $0.binding.hostIP == "127.0.0.1" })
        let pick = try PortRequest.parse("8080-8090:80")
        #expect(pick.count == 1 && pick[0].hostRange == 8080...8090 && pick[0].binding.hostPort == 0)
        let free = try PortRequest.parse("80-81")
        #expect(free.map(\.binding.hostPort) == [0, 0] && free.allSatisfy { $0.hostRange == nil })
        #expect(try PortRequest.parse("9000-9000:90")[0].binding.hostPort == 9000)
        for (bad, words) in [
            ("8080-8081:80-82", "Invalid ranges specified for container and host Ports: 80-82 and 8080-8081"),
            ("8082-8080:80", "Invalid hostPort: 8082-8080"), ("80-:80", "Invalid hostPort: 80-"),
            ("80-99999", "Invalid containerPort: 80-99999"),
            ("8080:", "No port specified"), ("8080-8081:80-81/sctp", "Invalid proto: sctp"),
        ] {
            do {
                _ = try PortRequest.parse(bad)
                Issue.record("\(bad) was accepted")
            } catch {
                #expect(error.message.contains(words), "\(bad): \(error.message)")
            }
        }
        #expect(throws: BerthError.self) { try PortBinding.parse("8080-8081:80-81") }
    }

    @Test("later environment values replace earlier ones of the same name")
    func environment() {
        let merged = ImageChanges.mergeEnv(["PATH=/bin", "A=1", "AB=2"], [("A", "3"), ("NEW", "x=y")])
        #expect(merged == ["PATH=/bin", "AB=2", "A=3", "NEW=x=y"])
    }
}

@Suite("registry downloads retry on the kind of failure, never on its text")
struct RetryRuleTests {
    @Test("a dropped connection is retried; a digest mismatch, a missing blob or a refusal is not")
    func rule() {
        #expect(RegistryClient.isRetryable(BerthError("read from registry x: timed out")))
        #expect(RegistryClient.isRetryable(.unavailable("cannot reach registry x")))
        #expect(!RegistryClient.isRetryable(.integrity("blob hashes to something else")))
        #expect(!RegistryClient.isRetryable(.notFound("blob unknown")))
        #expect(!RegistryClient.isRetryable(.permission("unauthorized")))
        #expect(
            RegistryClient.isRetryable(BerthError("a dropped read whose text says not found and hashes to")),
            "the words of a message decide nothing")
    }
}

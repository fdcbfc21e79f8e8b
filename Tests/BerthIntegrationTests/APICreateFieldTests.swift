import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The create fields the docker CLI's `run` flags send, mapped onto the
/// engine options `berth run` sets from the same flags, checked inside the
/// container, in its cgroup and in `berth inspect`; `docker update` and
/// `docker login` through the service.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI, "needs root and the docker CLI (make deps)"))
struct APICreateFieldTests {
    @Test func ulimitsShmInitSysctlsOomStopAndDns() {
        withService { s in
            let run = s.docker(
                "run", "-d", "--name", "proc", "--ulimit", "nofile=1024:2048", "--shm-size", "32m", "--init",
                "--sysctl", "net.ipv4.ip_forward=1", "--oom-score-adj", "100", "--stop-signal", "SIGUSR1",
                "--stop-timeout", "3", "--dns-search", "example.com", "--dns-option", "ndots:2", "--domainname",
                "corp.example", "busybox", "sleep", "300")
            #expect(run.status == 0, "\(run)")
            #expect(s.docker("exec", "proc", "cat", "/proc/sys/kernel/domainname").stdout == "corp.example\n")
            #expect(s.docker("inspect", "-f", "{{.Config.Domainname}}", "proc").stdout == "corp.example\n")
            let mac = s.docker(
                "run", "--rm", "--mac-address", "92:d0:c6:0a:29:99", "busybox", "cat", "/sys/class/net/eth0/address")
            #expect(mac.stdout == "92:d0:c6:0a:29:99\n", "\(mac)")
            // --link: the CLI sends HostConfig.Links; the alias resolves and the variables name it.
            let link = s.docker(
                "run", "--rm", "--name", "lk", "--link", "proc:pp", "busybox", "sh", "-c",
                "ping -c 1 -W 2 pp >/dev/null && echo $PP_NAME")
            #expect(link.stdout == "/lk/pp\n", "\(link)")
            // A missing one is dockerd's 404 (on which the docker CLI tries to pull the image, as with dockerd).
            let missing = s.curl(
                "/v1.44/containers/create", "-X", "POST", "-H", "Content-Type: application/json", "-d",
                #"{"Image":"busybox","HostConfig":{"Links":["nosuch:x"]}}"#, "-w", "\n%{http_code}")
            #expect(
                missing.stdout.hasSuffix("\n404") && missing.stdout.contains("could not get container for nosuch"),
                "\(missing)")
            #expect(s.docker("exec", "proc", "sh", "-c", "ulimit -n; ulimit -Hn").stdout == "1024\n2048\n")
            let shm = s.docker("exec", "proc", "grep", " /dev/shm ", "/proc/mounts").stdout
            #expect(shm.contains("size=32768k"), "\(shm)")
            // --init: PID 1 is Berth's init, the command its child.
            #expect(s.store.inspect("proc", "{{.HostConfig.Init}}") == "true")
            #expect(s.docker("exec", "proc", "cat", "/proc/1/comm").stdout != "sleep\n")
            #expect(s.docker("exec", "proc", "cat", "/proc/sys/net/ipv4/ip_forward").stdout == "1\n")
            #expect(s.docker("exec", "proc", "cat", "/proc/1/oom_score_adj").stdout == "100\n")
            #expect(s.store.inspect("proc", "{{.Config.StopSignal}} {{.Config.StopTimeout}}") == "SIGUSR1 3")
            let resolv = s.docker("exec", "proc", "cat", "/etc/resolv.conf").stdout
            #expect(resolv.contains("search example.com") && resolv.contains("options ndots:2"), "\(resolv)")
            // The docker CLI checks these flags itself; a raw body gets the engine's refusal as a 400.
            for (body, words) in [
                (#"{"Image":"busybox","HostConfig":{"Sysctls":{"kernel.hostname":"x"}}}"#, "not whitelisted"),
                (
                    #"{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":20,"Hard":10}]}}"#,
                    "soft limit must be less than or equal"
                ),
                (#"{"Image":"busybox","HostConfig":{"PidMode":"elsewhere"}}"#, "invalid PID mode"),
                (#"{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Interval":5}}"#, "cannot be less than 1ms"),
                // Hostile values: a wrong type is never read as "not given", a bad number is the request's fault.
                (#"{"Image":"busybox","HostConfig":{"Init":"yes"}}"#, "HostConfig.Init of type bool"),
                (#"{"Image":"busybox","HostConfig":{"Sysctls":{"kernel.shmmax":5}}}"#, "of type string"),
                (#"{"Image":"busybox","HostConfig":{"ShmSize":-5}}"#, "SHM size can not be less than 0"),
                (#"{"Image":"busybox","HostConfig":{"OomScoreAdj":5000}}"#, "range for oom score adj is [-1000, 1000]"),
                (#"{"Image":"busybox","HostConfig":{"CpuQuota":-7}}"#, "CPU cfs quota can not be less than 1ms"),
                (#"{"Image":"busybox","HostConfig":{"LogConfig":{"Type":"gelf"}}}"#, "no log driver named 'gelf'"),
            ] {
                let raw = s.curl(
                    "/v1.44/containers/create", "-X", "POST", "-H", "Content-Type: application/json", "-d", body, "-w",
                    "\n%{http_code}")
                #expect(raw.stdout.hasSuffix("\n400") && raw.stdout.contains(words), "\(body): \(raw.stdout)")
            }
            #expect(s.store.berth("ps", "-aq").stdout.split(separator: "\n").count == 1, "a refused create left a container")
        }
    }

    @Test func cgroupHealthLogAndNamespaceModes() {
        withService { s in
            let run = s.docker(
                "run", "-d", "--name", "res", "--network", "none", "--cpu-period", "50000", "--cpu-quota", "25000",
                "--memory-reservation", "64m", "--cpuset-mems", "0", "--health-cmd", "true", "--health-interval", "200ms",
                "--log-opt", "max-size=1m", "--log-opt", "max-file=2", "--pid", "host", "--uts", "host", "--ipc",
                "shareable", "busybox", "sleep", "300")
            #expect(run.status == 0, "\(run)")
            let files = ResourceTests.CgroupFiles(s.store.root, "res")
            #expect(files.cfs == "25000 50000")
            #expect(files.reservation == "67108864")
            #expect(files.read("cpuset", v1: "cpuset.mems", v2: "cpuset.mems") == "0")
            #expect(eventually(15) { s.store.status("res")?.hasSuffix("(healthy)") == true }, "\(s.store.status("res") ?? "")")
            #expect(
                s.docker(
                    "inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}}", "res"
                )
                .stdout == "json-file 1m\n")
            // --pid host sees the host's PID 1; --uts host has its host name.
            #expect(s.docker("exec", "res", "cat", "/proc/1/comm").stdout == readFile("/proc/1/comm"))
            #expect(s.docker("exec", "res", "hostname").stdout == sh("hostname").stdout)
            #expect(
                s.store.inspect("res", "{{.HostConfig.PidMode}} {{.HostConfig.UTSMode}} {{.HostConfig.IpcMode}}")
                    == "host host shareable")
            // --cgroup-parent: HostConfig.CgroupParent, the container's cgroup below it.
            let parent = "berth-api-cgp-\(getpid())"
            defer { sh("find /sys/fs/cgroup/*/\(parent) /sys/fs/cgroup/\(parent) -depth -type d -exec rmdir {} + 2>/dev/null") }
            let cgroup = s.docker(
                "run", "--rm", "--cgroupns", "host", "--cgroup-parent", "/" + parent, "busybox", "cat", "/proc/self/cgroup")
            #expect(
                cgroup.stdout.split(separator: "\n").contains {
                    ($0.contains(":memory:") || $0.hasPrefix("0::")) && $0.contains(":/\(parent)/")
                }, "\(cgroup)")
            // --device-read-iops: HostConfig.BlkioDeviceReadIOps, as the CLI sends it.
            let disk = storeDisk?.path ?? "/dev/null"
            let throttled = s.docker("create", "--name", "bio", "--device-read-iops", disk + ":50", "busybox", "true")
            if storeDisk != nil {
                #expect(throttled.status == 0, "\(throttled)")
                #expect(
                    s.store.inspect("bio", "{{json .HostConfig.BlkioDeviceReadIOps}}") == "[{\"Path\":\"\(disk)\",\"Rate\":50}]")
            } else {
                #expect(throttled.status == 125 && throttled.stderr.contains("not a block device"), "\(throttled)")
            }
            let driver = s.docker("run", "--log-driver", "syslog", "busybox", "true")
            #expect(driver.status == 125 && driver.stderr.contains("no log driver named 'syslog'"), "\(driver)")
        }
    }

    @Test func updateChangesLimitsAndRestartPolicy() {
        withService { s in
            #expect(s.docker("run", "-d", "--name", "up", "--network", "none", "busybox", "sleep", "300").status == 0)
            let update = s.docker(
                "update", "--memory", "64m", "--memory-swap", "128m", "--cpus", "0.5", "--restart", "on-failure:3", "up")
            #expect(update.status == 0 && update.stdout == "up\n", "\(update)")
            let files = ResourceTests.CgroupFiles(s.store.root, "up")
            #expect(files.read("memory", v1: "memory.limit_in_bytes", v2: "memory.max") == "67108864")
            #expect(files.cfs == "50000 100000")
            #expect(
                s.store.inspect("up", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}")
                    == "67108864 500000000 on-failure")
            #expect(s.store.inspect("up", "{{.HostConfig.RestartPolicy.MaximumRetryCount}}") == "3")
            let missing = s.docker("update", "--memory", "64m", "nope")
            #expect(missing.status == 1 && missing.stderr.contains("No such container: nope"), "\(missing)")
            let refused = s.docker("update", "--blkio-weight", "300", "up")
            #expect(refused.status == 1 && refused.stderr.contains("BlkioWeight is not supported by Berth"), "\(refused)")
            let bad = s.docker("update", "--memory", "64m", "--memory-swap", "32m", "up")
            #expect(bad.status == 1 && bad.stderr.contains("Error response from daemon"), "\(bad)")
            #expect(s.store.inspect("up", "{{.HostConfig.Memory}}") == "67108864", "a refused update changes nothing")
        }
    }

    @Test func loginChecksTheRegistry() {
        guard LocalRegistry.binary != nil else {
            Issue.record("docker-registry is needed; run 'make deps'")
            return
        }
        withService { s in
            let registry = LocalRegistry(users: [("alice", "s3cret")])
            defer { registry.stop() }
            writeFile(s.store.root + "/config.json", #"{"registries": {"insecure": ["\#(registry.address)"]}}"#)
            let ok = s.docker("login", "-u", "alice", "--password-stdin", registry.address, stdin: "s3cret\n")
            #expect(ok.status == 0 && ok.stdout.contains("Login Succeeded"), "\(ok)")
            let wrong = s.docker("login", "-u", "alice", "--password-stdin", registry.address, stdin: "nope\n")
            #expect(wrong.status == 1 && wrong.stderr.contains("Error response from daemon"), "\(wrong)")
            #expect(wrong.stderr.contains("login to \(registry.address) failed"), "\(wrong)")
            // As with dockerd, the service keeps no login: the client does,
            // and sends it with each push and pull (X-Registry-Auth).
            #expect(!fileExists(s.store.root + "/auth.json"))
            let remote = registry.address + "/private/bb:1"
            #expect(s.docker("tag", "busybox", remote).status == 0)
            let push = s.docker("push", remote)
            #expect(push.status == 0 && push.stdout.contains("1: digest: sha256:"), "\(push)")
            #expect(s.docker("rmi", remote).status == 0)
            let pull = s.docker("pull", remote)
            #expect(pull.status == 0 && pull.stdout.contains("Status: Downloaded newer image"), "\(pull)")
            #expect(s.docker("rmi", remote).status == 0)
            #expect(s.docker("logout", registry.address).status == 0)
            let anonymous = s.docker("pull", remote)
            #expect(anonymous.status == 1 && anonymous.stderr.contains("unauthorized"), "\(anonymous)")
            #expect(!fileExists(s.store.root + "/auth.json"))
        }
    }

    /// `HostConfig.UsernsMode`: `auto` and `keep-id` (Podman's API values)
    /// give PID 1 a user namespace through the same engine option as
    /// `--userns`, shown by `docker inspect`; `host` gives none; anything
    /// else is a 400 and makes nothing. The docker CLI and docker-py only
    /// send `host`, so the other values go as raw bodies.
    @Test func usernsModeAutoKeepIDHostAndRefusals() {
        let subids = makeTempDirectory("subid")
        defer { removeTree(subids) }
        for kind in ["uid", "gid"] { writeFile(subids + "/sub" + kind, "containers:400000:131072\n") }
        let env = ["BERTH_TEST_SUBUID": subids + "/subuid", "BERTH_TEST_SUBGID": subids + "/subgid"]
        withService(environment: env) { s in
            func create(_ name: String, _ host: String) -> ProcessResult {
                s.curl(
                    "/v1.44/containers/create?name=" + name, "-X", "POST", "-H", "Content-Type: application/json", "-d",
                    #"{"Image":"busybox","Cmd":["sleep","300"],"HostConfig":"# + host + "}", "-w", "\n%{http_code}")
            }
            for (name, mode) in [("ua", "auto"), ("uk", "keep-id")] {
                let made = create(name, #"{"UsernsMode":""# + mode + #""}"#)
                #expect(made.stdout.hasSuffix("\n201"), "\(made.stdout)")
                #expect(s.docker("start", name).status == 0)
                #expect(s.docker("inspect", "-f", "{{.HostConfig.UsernsMode}}", name).stdout == mode + "\n")
                // PID 1's uid_map is a namespace's, not the host's identity map.
                let map = s.docker("exec", name, "cat", "/proc/self/uid_map").stdout
                #expect(!map.isEmpty && !map.contains("4294967295"), "\(name): \(map)")
                #expect(s.docker("exec", name, "id", "-u").stdout == "0\n")
            }
            let ua = s.store.pid("ua")
            #expect(readFile("/proc/\(ua)/status").contains("Uid:\t400000\t"), "auto's root is host uid 400000")
            let host = s.docker("run", "-d", "--name", "uh", "--userns", "host", "busybox", "sleep", "300")
            #expect(host.status == 0, "\(host)")
            #expect(s.docker("inspect", "-f", "{{.HostConfig.UsernsMode}}", "uh").stdout == "\n")
            #expect(s.docker("exec", "uh", "cat", "/proc/self/uid_map").stdout.contains("4294967295"))
            for bad in ["private", "auto:size=0", "keep-id:uid=5", String(repeating: "x", count: 5000)] {
                let refused = create("bad", #"{"UsernsMode":""# + bad + #""}"#)
                #expect(refused.stdout.hasSuffix("\n400"), "\(bad.prefix(20)): \(refused.stdout.suffix(200))")
                #expect(refused.stdout.contains("invalid UsernsMode"), "\(refused.stdout.suffix(200))")
            }
            let typed = create("bad", #"{"UsernsMode":5}"#)
            #expect(typed.stdout.hasSuffix("\n400") && typed.stdout.contains("HostConfig.UsernsMode of type string"))
            #expect(s.store.berth("ps", "-aq").stdout.split(separator: "\n").count == 3, "a refused create left a container")
        }
    }
}

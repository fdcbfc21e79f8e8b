import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// Issue #24's parsing items: what a Docker user's everyday command lines
/// mean, checked on the real binary.
@Suite(
    "Docker's parsing: -h, -e, env files, commit, tmpfs options, -u", .serialized,
    .enabled(if: isRoot, "needs root for namespaces, mounts and cgroups"))
struct DockerParsingTests {
    @Test("-h is --hostname on run and create; --help is still help")
    func hostnameShortFlag() {
        withStore { s in
            let run = s.berth("run", "--rm", "-h", "myhost", "busybox", "hostname")
            #expect(run.status == 0 && run.stdout == "myhost\n", "\(run.stdout) \(run.stderr)")
            #expect(s.berth("create", "-h", "other", "--name", "hn", "busybox").status == 0)
            #expect(s.inspect("hn", "{{.Config.Hostname}}") == "other")
            #expect(s.berth("run", "--help").stdout.contains("-h, --hostname string"))
            #expect(s.berth("ps", "-h").stdout.contains("Usage:"), "-h is help where a command has no -h of its own")
        }
    }

    @Test("--disable-content-trust is taken (Berth verifies no signatures), =false refused; --volume-driver takes only local")
    func contentTrustAndVolumeDriver() {
        withStore { s in
            #expect(s.berth("run", "--rm", "--disable-content-trust", "busybox", "true").status == 0)
            #expect(s.berth("run", "--rm", "--volume-driver", "local", "-v", "vd:/data", "busybox", "true").status == 0)
            #expect(s.berth("volume", "ls", "-q").stdout == "vd\n")
            for args in [
                ["run", "--rm", "--disable-content-trust=false", "busybox", "true"],
                ["create", "--disable-content-trust=false", "busybox"], ["pull", "--disable-content-trust=false", "busybox"],
                ["push", "--disable-content-trust=false", "busybox"],
            ] {
                expectOneErrorLine(s.berth(args), naming: ["--disable-content-trust=false", "signatures"], status: 125)
            }
            expectOneErrorLine(
                s.berth("run", "--rm", "--volume-driver", "convoy", "busybox", "true"),
                naming: ["--volume-driver", "convoy", "only the local driver"], status: 125)
            #expect(s.berth("ps", "-aq").stdout.isEmpty)
        }
    }

    @Test("exec -e '' / '=' / --env= are refused as Docker's flag check does; -e NAME copies the caller's value or leaves it out")
    func execEnvironment() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "env", "busybox", "sleep", "60").status == 0)
            for bad in [["-e", ""], ["-e", "="], ["--env="], ["-e", "=x"]] {
                let r = s.berth(["exec"] + bad + ["env", "true"])
                expectOneErrorLine(r, naming: ["invalid environment variable"], status: 125)
            }
            let copied = runProcess(
                [
                    berthBinary, "--root", s.root, "exec", "-e", "FROMHOST", "-e", "UNSET_HERE", "env",
                    "sh", "-c", "echo [$FROMHOST]; env | grep -c UNSET_HERE",
                ],
                environment: ["FROMHOST": "yes"])
            #expect(copied.stdout == "[yes]\n0\n", "\(copied.stdout) \(copied.stderr)")
            let term = s.berth("exec", "-t", "-e", "TERM=foo", "env", "sh", "-c", "echo $TERM")
            #expect(term.stdout.hasPrefix("foo"), "exec -t keeps the caller's TERM: \(term.stdout)")
        }
    }

    @Test("--env-file: a BOM, CRLF, leading spaces, comments and bare names; 'export K=5' is refused")
    func envFiles() {
        withStore { s in
            let dir = makeTempDirectory("envfile")
            defer { removeTree(dir) }
            writeFile(dir + "/ok.env", "\u{FEFF}A=1\r\n   B=two words\r\n# a comment\r\n\r\nC\nD\n")
            let r = runProcess(
                [
                    berthBinary, "--root", s.root, "run", "--rm", "--env-file", dir + "/ok.env", "busybox",
                    "sh", "-c", "echo \"[$A][$B][$C]\"; env | grep -c '^D='",
                ], environment: ["C": "from-host"])
            #expect(r.stdout == "[1][two words][from-host]\n0\n", "\(r.stdout) \(r.stderr)")
            writeFile(dir + "/bad.env", "A=1\nexport K=5\n")
            let before = s.berth("ps", "-aq").stdout
            expectOneErrorLine(
                s.berth("run", "--rm", "--env-file", dir + "/bad.env", "busybox", "true"),
                naming: ["'export K' contains whitespaces", "line 2"], status: 125)
            #expect(s.berth("ps", "-aq").stdout == before, "nothing was created")
        }
    }

    @Test("commit keeps the container's -e, -w and -u; VOLUME in shell form is a path")
    func commitKeepsConfig() {
        withStore { s in
            #expect(
                s.berth(
                    "run", "-d", "--name", "src", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000:1000",
                    "busybox", "sleep", "60"
                ).status == 0)
            #expect(s.berth("commit", "-c", "VOLUME /data /logs", "src", "snap:1").status == 0)
            let config = s.berth(
                "inspect", "-f", "{{json .Config.Env}} {{.Config.WorkingDir}} {{.Config.User}} {{json .Config.Volumes}}",
                "snap:1"
            ).stdout
            #expect(config.contains("\"FOO=bar\"") && !config.contains("HOSTNAME="), "\(config)")
            #expect(config.contains(" /tmp 1000:1000 {\"/data\":{},\"/logs\":{}}"), "\(config)")
            let run = s.berth("run", "--rm", "snap:1", "sh", "-c", "echo $FOO; pwd; id -u")
            #expect(run.stdout == "bar\n/tmp\n1000\n", "\(run.stdout) \(run.stderr)")
        }
    }

    @Test("--tmpfs options: ro is read-only; Docker's documented rw,noexec,nosuid,size= and exec work; a bad word is refused")
    func tmpfsOptions() {
        withStore { s in
            let ro = s.berth(
                "run", "--rm", "--tmpfs", "/tmp:ro", "busybox", "sh", "-c",
                "touch /tmp/x 2>/dev/null && echo wrote || echo refused; grep ' /tmp ' /proc/mounts")
            #expect(ro.stdout.hasPrefix("refused\ntmpfs /tmp tmpfs ro,"), "\(ro.stdout) \(ro.stderr)")
            let documented = s.berth(
                "run", "--rm", "--tmpfs", "/tmp:rw,noexec,nosuid,size=65536k", "busybox", "sh", "-c",
                "touch /tmp/x && grep ' /tmp ' /proc/mounts")
            #expect(
                documented.status == 0 && documented.stdout.contains("rw,nosuid,nodev,noexec"),
                "\(documented.stdout) \(documented.stderr)")
            let exec = s.berth(
                "run", "--rm", "--tmpfs", "/tmp:exec", "busybox", "sh", "-c",
                "cp /bin/busybox /tmp/true && /tmp/true true && echo ran")
            #expect(exec.stdout == "ran\n", "\(exec.stdout) \(exec.stderr)")
            let noexec = s.berth(
                "run", "--rm", "--tmpfs", "/tmp", "busybox", "sh", "-c",
                "cp /bin/busybox /tmp/true && /tmp/true true 2>/dev/null && echo ran || echo denied")
            #expect(noexec.stdout == "denied\n", "Docker's default tmpfs is noexec: \(noexec.stdout)")
            expectOneErrorLine(
                s.berth("run", "--rm", "--tmpfs", "/tmp:bogus", "busybox", "true"),
                naming: ["bogus"], status: 125)
        }
    }

    @Test("-u :1000 is uid 0 with gid 1000; -u :nogroup resolves the group")
    func userGroupOnly() {
        withStore { s in
            #expect(s.berth("run", "--rm", "-u", ":1000", "busybox", "sh", "-c", "id -u; id -g").stdout == "0\n1000\n")
            #expect(s.berth("run", "--rm", "-u", ":nogroup", "busybox", "sh", "-c", "id -u; id -g").stdout == "0\n65534\n")
        }
    }

    @Test("import http://URL fetches the archive; https:// to a plain server and a 404 are one clear line each, nothing stored")
    func importURL() {
        let dir = makeTempDirectory("importurl")
        defer { removeTree(dir) }
        #expect(sh("cp \(shellQuote(busyboxTar)) \(dir)/bb.tar").status == 0)
        let port = freePort()
        // A file server on loopback, ended when the test ends.
        #expect(sh("cd \(dir) && (timeout 60 python3 -m http.server \(port) --bind 127.0.0.1 >/dev/null 2>&1 &)").status == 0)
        defer { sh("pkill -f 'http.server \(port)'") }
        #expect(
            eventually(10) {
                runProcess(["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 1)"]).status == 0
            }, "the file server listens")
        let root = dir + "/store"
        let imported = berth(root, "import", "http://127.0.0.1:\(port)/bb.tar", "web:1")
        #expect(imported.status == 0 && imported.stdout.hasPrefix("sha256:"), "\(imported.stdout) \(imported.stderr)")
        #expect(berth(root, "run", "--rm", "--network", "none", "web:1", "echo", "from-url").stdout == "from-url\n")
        let before = berth(root, "images", "-q").stdout
        expectOneErrorLine(
            berth(root, "import", "http://127.0.0.1:\(port)/missing.tar", "web:2"), naming: ["404", "missing.tar"])
        // https:// to a plain-HTTP server: the TLS handshake fails, naming the host and the fix.
        expectOneErrorLine(
            berth(root, "import", "https://127.0.0.1:\(port)/bb.tar", "web:3"),
            naming: ["TLS handshake with 127.0.0.1:\(port) failed", "http://"])
        #expect(berth(root, "images", "-q").stdout == before, "nothing stored")
        // A --rm run above is purged by its monitor after the client returned.
        #expect(eventually { FileSystem.list(root + "/tmp").isEmpty }, "no staging left: \(FileSystem.list(root + "/tmp"))")
    }

    @Test("cp never replaces a directory of the user's with a file, or a file with a directory: one line, exit 1, nothing lost")
    func copyNeverDeletes() {
        withStore { s in
            let host = makeTempDirectory("cphost")
            defer { removeTree(host) }
            #expect(
                s.berth(
                    "run", "-d", "--name", "cpc", "busybox", "sh", "-c",
                    "echo data > /tmp/f; mkdir -p /tmp/d /tmp/in/g; echo z > /tmp/d/z; sleep 120"
                ).status == 0)
            #expect(eventually(5) { s.berth("exec", "cpc", "test", "-f", "/tmp/d/z").status == 0 })
            // Out: /tmp/f onto a host directory named f holding the user's file.
            #expect(sh("mkdir -p \(host)/f && echo keep > \(host)/f/precious && echo mine > \(host)/d").status == 0)
            expectOneErrorLine(s.berth("cp", "cpc:/tmp/f", host), naming: ["cannot overwrite directory", "\(host)/f"])
            #expect(readFile(host + "/f/precious") == "keep\n", "the user's directory and file are untouched")
            expectOneErrorLine(s.berth("cp", "cpc:/tmp/d", host), naming: ["cannot overwrite non-directory", "\(host)/d"])
            #expect(readFile(host + "/d") == "mine\n")
            // In: a host file onto a directory of the container.
            writeFile(host + "/g", "host\n")
            expectOneErrorLine(
                s.berth("cp", host + "/g", "cpc:/tmp/in"), naming: ["cannot overwrite directory", "cpc:/tmp/in/g"])
            #expect(s.berth("exec", "cpc", "test", "-d", "/tmp/in/g").status == 0, "the container's directory is still there")
            // What does not clash still copies.
            #expect(s.berth("cp", "cpc:/tmp/f", host + "/copied").status == 0)
            #expect(readFile(host + "/copied") == "data\n")
        }
    }

    @Test("--memory=0 means no limit; -w to a missing directory creates it; HOME comes from the user's passwd entry")
    func dockerDefaults() {
        withStore { s in
            let unlimited = s.berth("run", "--rm", "--memory=0", "busybox", "true")
            #expect(unlimited.status == 0, "\(unlimited.stderr)")
            #expect(s.berth("run", "--rm", "-w", "/missing/dir", "busybox", "pwd").stdout == "/missing/dir\n")
            // What cannot be made is one line: through a file, on a read-only root.
            expectOneErrorLine(
                s.berth("run", "--rm", "-w", "/etc/passwd/x", "busybox", "pwd"), naming: ["/etc/passwd/x", "ENOTDIR"],
                status: 125)
            expectOneErrorLine(
                s.berth("run", "--rm", "--read-only", "-w", "/nope", "busybox", "pwd"), naming: ["/nope", "EROFS"],
                status: 125)
            #expect(s.berth("run", "--rm", "busybox", "sh", "-c", "echo $HOME").stdout == "/root\n")
            #expect(s.berth("run", "--rm", "-u", "nobody", "busybox", "sh", "-c", "echo $HOME").stdout == "/home\n")
            #expect(s.berth("run", "--rm", "-e", "HOME=/x", "busybox", "sh", "-c", "echo $HOME").stdout == "/x\n")
            let started = s.berth("run", "-d", "--name", "homecheck", "busybox", "sleep", "60")
            #expect(started.status == 0, "\(started.stderr)")
            #expect(s.berth("exec", "homecheck", "sh", "-c", "echo $HOME").stdout == "/root\n")
        }
    }
}

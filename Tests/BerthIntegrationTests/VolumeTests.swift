import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

@Suite("Volumes and mounts", .enabled(if: isRoot, "needs root for mounts"))
struct VolumeTests {
    private func withStore(_ body: (String) throws -> Void) rethrows {
        let root = makeTempDirectory("vol")
        defer {
            for id in berth(root, "ps", "-aq").stdout.split(separator: "\n") { berth(root, "rm", "-f", String(id)) }
            #expect(mounts(under: root).isEmpty, "mounts left: \(mounts(under: root))")
            removeTree(root)
        }
        importBusybox(root)
        try body(root)
    }

    @Test(
        "a file written to a named volume is read by a second container after the first is removed",
        arguments: ["namespaces", "chroot"])
    func namedVolumeOutlivesContainers(_ isolation: String) {
        withStore { root in
            #expect(
                berth(
                    root, "run", "--name", "writer", "--isolation", isolation, "-v", "shared:/data", "busybox",
                    "sh", "-c", "echo kept > /data/note"
                ).status == 0)
            #expect(berth(root, "rm", "writer").status == 0)
            let read = berth(root, "run", "--rm", "--isolation", isolation, "-v", "shared:/data", "busybox", "cat", "/data/note")
            #expect(read.stdout == "kept\n")
            #expect(berth(root, "volume", "ls", "-q").stdout == "shared\n")
            #expect(berth(root, "system", "df").stdout.contains("Local Volumes   1"))
        }
    }

    @Test("a :ro bind refuses writes; --read-only refuses root writes while --tmpfs /tmp takes them")
    func readOnly() {
        withStore { root in
            let host = makeTempDirectory("vol-host")
            defer { removeTree(host) }
            writeFile(host + "/in", "from host\n")
            let ro = berth(root, "run", "--rm", "-v", "\(host):/mnt:ro", "busybox", "sh", "-c", "cat /mnt/in; echo x > /mnt/out")
            #expect(ro.stdout == "from host\n")
            #expect(ro.status != 0 && ro.stderr.contains("Read-only file system"))
            #expect(!fileExists(host + "/out"))
            let rw = berth(root, "run", "--rm", "-v", "\(host):/mnt", "busybox", "sh", "-c", "echo y > /mnt/out")
            #expect(rw.status == 0 && readFile(host + "/out") == "y\n")
            let rootRO = berth(
                root, "run", "--rm", "--read-only", "--tmpfs", "/tmp", "busybox", "sh", "-c",
                "echo a > /tmp/ok && cat /tmp/ok; echo b > /etc/nope")
            #expect(rootRO.stdout == "a\n")
            #expect(rootRO.stderr.contains("Read-only file system"))
            let mountRO = berth(
                root, "run", "--rm", "--mount", "type=bind,source=\(host),target=/m,readonly", "busybox",
                "sh", "-c", "echo z > /m/z")
            #expect(mountRO.status != 0 && !fileExists(host + "/z"))
        }
    }

    @Test(
        "a bound file is the host's file (written through, or refused with :ro); a bound directory brings the mounts below it",
        arguments: ["namespaces", "chroot"])
    func fileAndRecursiveBinds(_ isolation: String) {
        withStore { root in
            let host = makeTempDirectory("vol-bind")
            mkdir(host + "/dir", 0o755)
            mkdir(host + "/dir/sub", 0o755)
            let tmpfs = host + "/dir/sub"
            #expect(mount("tmpfs", tmpfs, "tmpfs", 0, "size=1m") == 0, "tmpfs for the test")
            defer {
                _ = umount2(tmpfs, Int32(MNT_DETACH))
                removeTree(host)
            }
            writeFile(tmpfs + "/below", "on the tmpfs\n")
            writeFile(host + "/file", "from host\n")
            let rw = berth(
                root, "run", "--rm", "--isolation", isolation, "-v", "\(host)/file:/etc/bound", "-v", "\(host)/dir:/d",
                "busybox", "sh", "-c", "cat /etc/bound /d/sub/below; echo changed > /etc/bound")
            #expect(rw.status == 0, "run: \(rw.stderr)")
            #expect(rw.stdout == "from host\non the tmpfs\n", "the file and the mount below the directory: \(rw.stdout)")
            #expect(readFile(host + "/file") == "changed\n", "the write reached the host's file")
            let ro = berth(
                root, "run", "--rm", "--isolation", isolation, "-v", "\(host)/file:/etc/bound:ro", "busybox", "sh", "-c",
                "cat /etc/bound; echo again > /etc/bound")
            #expect(ro.stdout == "changed\n")
            #expect(ro.status != 0 && ro.stderr.contains("Read-only file system"), "\(ro.stderr)")
            #expect(readFile(host + "/file") == "changed\n")
        }
    }

    @Test("a symlink in the image pointing at a host path never moves a mount outside the container root")
    func mountTargetStaysInRoot() {
        withStore { root in
            let hostDir = makeTempDirectory("vol-victim")
            defer { removeTree(hostDir) }
            // An image whose /data is an absolute symlink to the host directory's
            // path, and whose /up climbs with "..": both only ever mean paths
            // inside the container's root.
            #expect(
                berth(root, "run", "--name", "mk", "busybox", "sh", "-c", "ln -s \(hostDir) /data; ln -s ../../../../.. /up")
                    .status == 0)
            #expect(berth(root, "commit", "mk", "evil:1").status == 0)
            for target in ["/data", "/up" + hostDir] {
                let run = berth(
                    root, "run", "--rm", "-v", "vol:\(target)", "evil:1", "sh", "-c", "echo inside > \(target)/written")
                #expect(run.status == 0, "run: \(run.stderr)")
            }
            let tmpfs = berth(root, "run", "--rm", "--tmpfs", "/data", "evil:1", "sh", "-c", "echo t > /data/t")
            #expect(tmpfs.status == 0)
            let evil = berth(
                root, "run", "--rm", "-v", "vol2:/data", "evil:1", "sh", "-c", "echo inside > /data/written; ls -la /")
            #expect(evil.status == 0, "run: \(evil.stderr)")
            #expect(FileSystem.list(hostDir).isEmpty, "nothing landed in the host directory: \(FileSystem.list(hostDir))")
            #expect(mounts(under: hostDir).isEmpty, "no mount on the host directory")
            #expect(
                berth(root, "run", "--rm", "-v", "vol2:/x", "busybox", "cat", "/x/written").stdout == "inside\n",
                "the volume was mounted inside the container root, at the symlink's target there")
            berth(root, "rm", "mk")
        }
    }

    @Test("volumes stay out of export, commit and diff; a volume in use cannot be removed; rm -v removes anonymous ones")
    func volumesAreNotInTheLayer() {
        withStore { root in
            #expect(
                berth(root, "run", "-d", "--name", "cv", "-v", "named:/named", "-v", "/anon", "busybox", "sleep", "100").status
                    == 0)
            #expect(berth(root, "exec", "cv", "sh", "-c", "echo v > /named/f; echo a > /anon/f; echo l > /layer").status == 0)
            let diff = berth(root, "diff", "cv").stdout
            #expect(diff.contains("A /layer"))
            #expect(!diff.contains("/named/f") && !diff.contains("/anon/f"), "diff: \(diff)")
            let exported = berth(root, "export", "cv").stdout
            #expect(exported.contains("layer") && !exported.contains("named/f"))
            expectOneErrorLine(berth(root, "volume", "rm", "named"), naming: ["named", "in use"])
            let volumes = berth(root, "volume", "ls", "-q").stdout.split(separator: "\n")
            #expect(volumes.count == 2)
            #expect(berth(root, "rm", "-f", "-v", "cv").status == 0)
            #expect(berth(root, "volume", "ls", "-q").stdout == "named\n", "rm -v took the anonymous volume only")
            #expect(berth(root, "volume", "rm", "named").status == 0)
        }
    }

    @Test("a bind source that does not exist is refused, and nothing is created")
    func missingBindSource() {
        withStore { root in
            let missing = "/tmp/berth-no-such-dir-\(getpid())"
            let run = berth(root, "run", "--rm", "-v", "\(missing):/x", "busybox", "true")
            expectOneErrorLine(run, naming: [missing, "does not exist"], status: 125)
            #expect(!fileExists(missing))
            #expect(berth(root, "ps", "-aq").stdout.isEmpty)
            expectOneErrorLine(
                berth(root, "run", "--rm", "--isolation", "chroot", "--tmpfs", "/t", "busybox", "true"),
                naming: ["chroot", "tmpfs"], status: 125)
        }
    }

    @Test("no mount remains after a crashed monitor and rm -f (chroot binds live on the host)")
    func crashCleanup() {
        withStore { root in
            let host = makeTempDirectory("vol-crash")
            defer { removeTree(host) }
            #expect(
                berth(
                    root, "run", "-d", "--name", "crash", "--isolation", "chroot", "-v", "\(host):/mnt",
                    "busybox", "sleep", "100"
                ).status == 0)
            #expect(!mounts(under: root).isEmpty, "the chroot bind is on the host while it runs")
            let monitor = berth(root, "inspect", "-f", "{{.State.MonitorPid}}", "crash").stdout.trimmingSpacesAndNewlines
            kill(Int32(monitor) ?? 0, SIGKILL)
            usleep(200_000)
            #expect(berth(root, "rm", "-f", "crash").status == 0)
            #expect(mounts(under: root).isEmpty, "mounts left: \(mounts(under: root))")
        }
    }

    @Test("a new named volume is filled from the image's files at its mount point, once")
    func prefill() {
        withStore { root in
            #expect(berth(root, "run", "--rm", "-v", "etc:/etc", "busybox", "sh", "-c", "echo mine > /etc/mine").status == 0)
            let data = berth(root, "volume", "inspect", "-f", "{{.Mountpoint}}", "etc").stdout.trimmingSpacesAndNewlines
            #expect(readFile(data + "/passwd").hasPrefix("root:x:0:0:"), "the image's /etc/passwd was copied in")
            #expect(readFile(data + "/mine") == "mine\n")
            // Not empty any more: a second container sees the volume as it is, not the image again.
            #expect(berth(root, "run", "--rm", "-v", "etc:/etc", "busybox", "sh", "-c", "rm /etc/group").status == 0)
            #expect(berth(root, "run", "--rm", "-v", "etc:/etc", "busybox", "ls", "/etc").stdout.contains("group") == false)
        }
    }
}

import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A container's mount namespace is copied from Berth's clean one
/// (/run/berth/mntns: a tmpfs with /c and the host's /proc), not from the
/// host's (docs/lifecycle.md, "What PID 1 sees").
@Suite("The clean mount namespace", .enabled(if: isRoot, "needs root"), .serialized)
struct MountNamespaceTests {
    static let pin = "/run/berth/mntns"

    /// The mounts at the pin, from the host's mountinfo: (root field, type).
    private func pins() -> [(root: String, type: String)] {
        readFile("/proc/self/mountinfo").split(separator: "\n").compactMap { line in
            guard field(line, 4) == Self.pin else { return nil }
            let after = line.split(separator: " - ", maxSplits: 1)
            return (field(line, 3), after.count == 2 ? field(after[1], 0) : "")
        }
    }

    /// What the namespace pinned at the pin holds: its mountinfo (mount
    /// point and type a line) and the names in its root and in /c, read by a
    /// Python that entered it (setns).
    private func inside() -> ProcessResult {
        runProcess([
            "python3", "-c",
            """
            import ctypes, os, sys
            fd = os.open(sys.argv[1], os.O_RDONLY)
            if ctypes.CDLL(None, use_errno=True).setns(fd, 0x00020000) != 0:
                sys.exit("setns: errno %d" % ctypes.get_errno())
            for line in open("/proc/self/mountinfo"):
                f = line.split()
                print(f[4], f[f.index("-") + 1])
            print("root:", " ".join(sorted(os.listdir("/"))))
            print("c:", " ".join(sorted(os.listdir("/c"))))
            """,
            Self.pin,
        ])
    }

    @Test("it holds a tmpfs root with an empty /c and /proc, nothing of the host's, however many containers ran")
    func holdsNothingOfTheHost() {
        withBusyboxStore("cleanns") { root in
            let ran = berth(root, "run", "--rm", "--network", "none", "busybox", "cat", "/etc/hostname")
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(berth(root, "run", "-d", "--network", "none", "busybox", "sleep", "30").status == 0)
            #expect(pins().map(\.type) == ["nsfs"] && pins().first?.root.hasPrefix("mnt:[") == true, "\(pins())")
            let seen = inside()
            #expect(seen.status == 0, "\(seen.stderr)")
            #expect(seen.stdout == "/ tmpfs\n/proc proc\nroot: c proc\nc: \n", "\(seen.stdout)")
        }
    }

    @Test("a pin unmounted, left a plain file, or holding another kind of namespace is made again, and containers start")
    func repairedPin() {
        withBusyboxStore("cleanns-pin") { root in
            #expect(berth(root, "run", "--rm", "--network", "none", "busybox", "true").status == 0)
            for (what, breakIt) in [
                ("unmounted", "umount -l \(Self.pin)"),
                ("a network namespace bound on it", "mount --bind /proc/self/ns/net \(Self.pin)"),
                (
                    "a plain file bound on it",
                    "echo x > /tmp/berth-test-pinfile && mount --bind /tmp/berth-test-pinfile \(Self.pin)"
                ),
            ] {
                let broke = sh(breakIt)
                #expect(broke.status == 0, "\(what): \(broke.stderr)")
                let ran = berth(root, "run", "--rm", "--network", "none", "busybox", "echo", "ok")
                #expect(ran.status == 0 && ran.stdout == "ok\n", "\(what): \(ran.stderr)")
                let now = pins()
                #expect(now.count == 1 && now.first?.root.hasPrefix("mnt:[") == true, "\(what): \(now)")
                #expect(inside().stdout.hasPrefix("/ tmpfs\n/proc proc\n"), "\(what): \(inside())")
            }
            _ = sh("rm -f /tmp/berth-test-pinfile")
        }
    }

    @Test("an image whose /dev, /proc and /sys point out of its root: one error naming /dev/null, the clean namespace clean")
    func hostileLinks() {
        withBusyboxStore("cleanns-links") { root in
            let work = makeTempDirectory("cleanns-image")
            defer { removeTree(work) }
            let made = sh(
                "cd \(work) && mkdir r && tar -xf \(busyboxTar) -C r && cd r && rm -rf dev proc sys "
                    + "&& ln -s /c dev && ln -s /proc proc && ln -s / sys && tar -cf ../links.tar .")
            #expect(made.status == 0, "\(made.stderr)")
            #expect(berth(root, "import", "-c", "CMD [\"sh\"]", work + "/links.tar", "links").status == 0)
            let ran = berth(root, "run", "--rm", "--network", "none", "links", "true")
            expectOneErrorLine(ran, naming: ["mknod", "/dev/null"], status: 125)
            #expect(!ran.stderr.contains("/c/"), "the clean namespace's paths stay out of messages: \(ran.stderr)")
            #expect(inside().stdout == "/ tmpfs\n/proc proc\nroot: c proc\nc: \n", "\(inside())")
        }
    }

    @Test("a file bound over a directory, or a directory over a file: one line with Docker's hint, 125")
    func fileOverDirectory() {
        withBusyboxStore("cleanns-kind") { root in
            let dir = makeTempDirectory("cleanns-kind-src")
            defer { removeTree(dir) }
            writeFile(dir + "/file", "kept\n")
            for (source, target) in [(dir + "/file", "/etc"), (dir, "/etc/passwd")] {
                let ran = berth(root, "run", "--rm", "--network", "none", "-v", "\(source):\(target)", "busybox", "true")
                expectOneErrorLine(ran, naming: ["mount \(target)", "ENOTDIR", "directory onto a file"], status: 125)
            }
            #expect(readFile(dir + "/file") == "kept\n")
            #expect(berth(root, "ps", "-aq").stdout.isEmpty, "--rm left nothing")
        }
    }

    @Test("on a shared host mount, nothing mounted inside reaches the host and nothing the host mounts later shows inside")
    func propagationCut() {
        // The store and a volume below a shared mount, as / is on a systemd host.
        let top = makeTempDirectory("cleanns-shared")
        defer { removeTree(top) }
        #expect(sh("mount --bind \(top) \(top) && mount --make-shared \(top)").status == 0)
        let root = top + "/store", volume = top + "/vol"
        #expect(sh("mkdir -p \(root) \(volume)/sub \(volume)/late").status == 0)
        defer {
            for id in berth(root, "ps", "-aq", "--no-trunc").stdout.split(separator: "\n") {
                berth(root, "rm", "-f", String(id))
            }
        }
        _ = importBusybox(root)
        let started = berth(
            root, "run", "-d", "--name", "mounter", "--privileged", "--network", "none", "-v", "\(volume):/data",
            "busybox", "sh", "-c", "mount -t tmpfs inside-vol /data/sub && mount -t tmpfs inside-root /home && sleep 60")
        #expect(started.status == 0, "\(started.stderr)")
        let mounted = pollScreen(10, { berth(root, "exec", "mounter", "cat", "/proc/mounts").stdout }) {
            $0.contains("inside-vol") && $0.contains("inside-root")
        }
        #expect(mounted.ok, "the container's own mounts: \(mounted.screen)")
        let host = readFile("/proc/self/mountinfo")
        #expect(!host.contains("inside-vol") && !host.contains("inside-root"), "on the host: \(mounts(under: top))")
        #expect(sh("mount -t tmpfs host-late \(volume)/late").status == 0)
        defer { _ = sh("umount \(volume)/late") }
        let later = berth(root, "exec", "mounter", "cat", "/proc/mounts")
        #expect(later.status == 0 && later.stdout.contains("inside-vol"), "\(later)")
        #expect(!later.stdout.contains("host-late"), "the host's later mount shows inside: \(later.stdout)")
    }
}

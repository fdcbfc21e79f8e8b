import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif

/// The image's layer of empty mount points under a container's root
/// (MountPointLayer.swift): what a container and its `diff`, `commit` and
/// `export` show, and the images it is not made for.
@Suite("mount point layer: /etc/hosts, hostname, resolv.conf", .enabled(if: isRoot, "needs root for containers"))
struct MountPointLayerTests {
    private func containerID(_ root: String, _ name: String) -> String {
        berth(root, "inspect", "-f", "{{.Id}}", name).stdout.filter { !$0.isWhitespace }
    }

    private func imageID(_ root: String, _ name: String) -> String {
        String(berth(root, "image", "inspect", "-f", "{{.Id}}", name).stdout.filter { !$0.isWhitespace }.dropFirst(7))
    }

    @Test("a run adds nothing of its own mount points to its layer: diff and commit show what it changed, as Docker's")
    func onlyTheContainersChanges() {
        withBusyboxStore("mountpoints") { root in
            let run = berth(
                root, "run", "--name", "c1", "--hostname", "box", "--network", "none", "busybox", "sh", "-c",
                "touch /made; cat /etc/hostname; ls -ld --full-time /etc; grep -c localhost /etc/hosts")
            #expect(run.status == 0, "run: \(run.stderr)")
            let out = lines(run.stdout)
            #expect(out.first == "box", "the hostname bound over the mount point: \(run.stdout)")
            // /etc keeps the image's mode and time (scripts/mkimage-busybox.sh: 2000-01-01).
            #expect(out.count == 3 && out[1].hasPrefix("drwxr-xr-x") && out[1].contains("2000-01-01"), "\(run.stdout)")
            #expect((Int(out.last ?? "") ?? 0) > 0, "the hosts file: \(run.stdout)")
            #expect(berth(root, "diff", "c1").stdout == "A /made\n")
            #expect(FileSystem.list(root + "/containers/\(containerID(root, "c1"))/upper") == ["made"])
            // The committed layer holds only /made (Docker's commit leaves its init layer out too).
            #expect(berth(root, "commit", "c1", "made:1").status == 0)
            let layers = berth(root, "image", "inspect", "-f", "{{range .RootFS.Layers}}{{println .}}{{end}}", "made:1")
            let top = lines(layers.stdout).last.map { String($0.dropFirst(7)) } ?? ""
            #expect(FileSystem.list(root + "/layers/sha256/\(top)/diff") == ["made"], "layers: \(layers.stdout)")
            // export still shows the whole root, mount points included (as Docker's does).
            let exported = sh("'\(berthBinary)' --root '\(root)' export c1 | tar -t").stdout
            #expect(exported.contains("etc/hosts\n") && exported.contains("made\n"))
            // One layer for every container of the image; rmi takes it.
            let busybox = imageID(root, "busybox")
            #expect(FileSystem.list(root + "/layers/mountpoints").contains(busybox))
            #expect(berth(root, "run", "--rm", "--network", "none", "made:1", "test", "-e", "/made").status == 0)
            #expect(berth(root, "rm", "c1").status == 0)
            #expect(berth(root, "rmi", "made:1").status == 0)
            #expect(!FileSystem.list(root + "/layers/mountpoints").contains { $0 != busybox }, "rmi left a layer")
        }
    }

    @Test("the copy driver: the mount points a start made stay out of diff and commit; what the container did under /etc shows")
    func copyDriverLeavesMountPointsOut() {
        withBusyboxStore("mountpoints") { root in
            func run(_ name: String, _ script: String) {
                let r = berth(
                    root, "run", "--name", name, "--storage", "copy", "--network", "none", "busybox", "sh", "-c", script)
                #expect(r.status == 0, "\(name): \(r.stderr)")
            }
            run("untouched", "cat /etc/hostname >/dev/null")
            #expect(berth(root, "diff", "untouched").stdout == "", "a container that changed nothing")
            run("changed", "touch /etc/foo /made; echo 10.1.2.3 extra >> /etc/hosts")
            #expect(berth(root, "diff", "changed").stdout == "C /etc\nA /etc/foo\nA /made\n")
            run("chmodded", "chmod 700 /etc")
            #expect(berth(root, "diff", "chmodded").stdout == "C /etc\n", "a change of /etc itself still shows")
            #expect(berth(root, "commit", "changed", "changed:1").status == 0)
            let layers = berth(root, "image", "inspect", "-f", "{{range .RootFS.Layers}}{{println .}}{{end}}", "changed:1")
            let top = lines(layers.stdout).last.map { String($0.dropFirst(7)) } ?? ""
            #expect(FileSystem.list(root + "/layers/sha256/\(top)/diff/etc") == ["foo"], "layers: \(layers.stdout)")
            // The committed image's containers get their own hosts file again.
            let again = berth(
                root, "run", "--rm", "--storage", "copy", "--network", "none", "changed:1", "grep", "-c", "extra", "/etc/hosts")
            #expect(again.stdout == "0\n", "the first container's hosts line went into the image: \(again.stdout)")
        }
    }

    @Test("an image's own /etc/hosts is bound over; an image whose /etc is a link gets no layer and runs as before")
    func imagesWithTheirOwn() {
        withBusyboxStore("mountpoints") { root in
            let dir = root + "/img"
            #expect(sh("mkdir -p '\(dir)' && tar -C '\(dir)' -xf '\(busyboxTar)'").status == 0)
            // An /etc/hosts of the image's own: no empty one in the layer.
            #expect(sh("echo 'image hosts' > '\(dir)/etc/hosts' && tar -C '\(dir)' -cf '\(root)/own.tar' .").status == 0)
            #expect(berth(root, "import", "\(root)/own.tar", "own").status == 0)
            let own = berth(root, "run", "--rm", "--network", "none", "own", "cat", "/etc/hosts")
            #expect(own.status == 0 && own.stdout.contains("localhost") && !own.stdout.contains("image hosts"), "\(own.stdout)")
            let layer = root + "/layers/mountpoints/" + imageID(root, "own") + "/etc"
            #expect(FileSystem.list(layer).sorted() == ["hostname", "resolv.conf"])
            // /etc a link to /usr/etc: the mount points are made through it, as without the layer.
            let relink =
                "rm '\(dir)/etc/hosts' && mkdir -p '\(dir)/usr' && mv '\(dir)/etc' '\(dir)/usr/etc'"
                + " && ln -s usr/etc '\(dir)/etc' && tar -C '\(dir)' -cf '\(root)/linked.tar' ."
            #expect(sh(relink).status == 0)
            #expect(berth(root, "import", "\(root)/linked.tar", "linked").status == 0)
            let linked = berth(
                root, "run", "--rm", "--hostname", "lnk", "--network", "none", "linked", "sh", "-c",
                "cat /etc/hostname; readlink /etc")
            #expect(linked.status == 0 && linked.stdout == "lnk\nusr/etc\n", "\(linked.stdout) \(linked.stderr)")
            #expect(!FileSystem.exists(root + "/layers/mountpoints/" + imageID(root, "linked")))
        }
    }

    @Test("a link or a file where the layer belongs is never taken as a layer: the root is the image's alone")
    func aLinkInItsPlace() {
        withBusyboxStore("mountpoints") { root in
            let outside = root + "/outside"
            #expect(sh("mkdir -p '\(outside)/etc' && echo secret > '\(outside)/etc/secret'").status == 0)
            let place = root + "/layers/mountpoints/" + imageID(root, "busybox")
            #expect(sh("mkdir -p '\(root)/layers/mountpoints' && ln -s '\(outside)' '\(place)'").status == 0)
            let linked = berth(root, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /etc; cat /etc/hostname")
            #expect(linked.status == 0 && !linked.stdout.contains("secret"), "\(linked.stdout) \(linked.stderr)")
            #expect(FileSystem.readLink(place) == outside, "the link was left as it was")
            #expect(sh("rm '\(place)' && echo x > '\(place)'").status == 0)
            let file = berth(root, "run", "--rm", "--network", "none", "busybox", "cat", "/etc/hostname")
            #expect(file.status == 0 && !file.stdout.isEmpty, "\(file.stderr)")
        }
    }
}

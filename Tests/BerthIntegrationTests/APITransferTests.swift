import Testing
import BerthCore

/// save/load, export/import and commit through the API, with the docker CLI.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI, "needs root and the docker CLI (make deps)"))
struct APITransferTests {
    @Test func saveLoadExportImportCommit() {
        withService { s in
            let dir = makeTempDirectory("apixfer")
            defer { removeTree(dir) }
            let id = s.docker("inspect", "--format", "{{.Id}}", "busybox").stdout
            // save streams the archive berth save writes; load reads it back, same ID.
            #expect(s.docker("save", "-o", dir + "/saved.tar", "busybox").status == 0)
            #expect(runProcess(["tar", "tf", dir + "/saved.tar"]).stdout.contains("manifest.json"))
            #expect(s.docker("rmi", "busybox").status == 0)
            let loaded = s.docker("load", "-i", dir + "/saved.tar")
            #expect(loaded.status == 0 && loaded.stdout == "Loaded image: busybox:latest\n", "\(loaded)")
            #expect(s.docker("inspect", "--format", "{{.Id}}", "busybox").stdout == id)
            let none = s.docker("save", "-o", dir + "/none.tar", "nosuch")
            #expect(none.status == 1 && none.stderr.contains("No such image: nosuch"), "\(none)")
            // export the container's files; import them as an image; run it.
            #expect(s.docker("run", "--name", "src", "busybox", "sh", "-c", "echo data > /marker").status == 0)
            let diff = s.docker("diff", "src").stdout
            #expect(diff.contains("A /marker\n") && diff == s.store.berth("diff", "src").stdout, "\(diff)")
            #expect(s.docker("export", "-o", dir + "/fs.tar", "src").status == 0)
            #expect(runProcess(["tar", "tf", dir + "/fs.tar"]).stdout.contains("marker\n"))
            let imported = s.docker("import", "-c", "CMD [\"cat\", \"/marker\"]", dir + "/fs.tar", "imported:1")
            #expect(imported.status == 0 && imported.stdout.hasPrefix("sha256:"), "\(imported)")
            #expect(s.docker("run", "--rm", "imported:1").stdout == "data\n")
            // commit the container's changes with a Dockerfile line.
            let committed = s.docker("commit", "-c", "CMD [\"cat\", \"/marker\"]", "src", "committed:1")
            #expect(committed.status == 0 && committed.stdout.hasPrefix("sha256:"), "\(committed)")
            #expect(s.store.berth("run", "--rm", "committed:1").stdout == "data\n", "the CLI runs what the API committed")
            #expect(s.docker("rm", "src").status == 0)
        }
    }

    @Test func cpBothWaysRunningOrNot() {
        withService { s in
            let dir = makeTempDirectory("apicp")
            defer { removeTree(dir) }
            writeFile(dir + "/f", "hello cp\n")
            _ = runProcess(["sh", "-c", "mkdir -p \(dir)/tree/sub && echo deep > \(dir)/tree/sub/leaf"])
            #expect(s.docker("run", "-d", "--name", "box", "busybox", "sleep", "300").status == 0)
            #expect(s.docker("cp", dir + "/f", "box:/tmp/").status == 0)
            #expect(s.docker("exec", "box", "cat", "/tmp/f").stdout == "hello cp\n")
            _ = runProcess(["chown", "1234:1234", dir + "/f"])
            #expect(s.docker("cp", dir + "/f", "box:/tmp/plain").status == 0)
            #expect(s.docker("exec", "box", "stat", "-c", "%u", "/tmp/plain").stdout == "0\n", "owned by the container's root")
            #expect(s.docker("cp", "-a", dir + "/f", "box:/tmp/kept").status == 0)
            #expect(s.docker("exec", "box", "stat", "-c", "%u", "/tmp/kept").stdout == "1234\n", "-a keeps the owner")
            #expect(s.docker("cp", dir + "/tree", "box:/tmp/").status == 0)
            #expect(s.docker("exec", "box", "cat", "/tmp/tree/sub/leaf").stdout == "deep\n")
            #expect(s.docker("cp", "box:/tmp/f", dir + "/back").status == 0)
            #expect(readFile(dir + "/back") == "hello cp\n")
            #expect(s.docker("cp", "box:/tmp/tree", dir + "/treeback").status == 0)
            #expect(readFile(dir + "/treeback/sub/leaf") == "deep\n")
            // Over the 64 MiB a JSON body may have: an archive is spooled to the store's tmp/.
            _ = runProcess(["sh", "-c", "head -c 67000000 /dev/urandom > \(dir)/big"])
            #expect(s.docker("cp", dir + "/big", "box:/tmp/").status == 0)
            let sums = runProcess(["md5sum", dir + "/big"]).stdout.prefix(32)
            #expect(s.docker("exec", "box", "md5sum", "/tmp/big").stdout.prefix(32) == sums)
            #expect(FileSystem.list(s.store.root + "/tmp").isEmpty, "the spooled body is gone")
            let missing = s.docker("cp", "box:/nosuch", dir + "/x")
            #expect(missing.status == 1 && missing.stderr.contains("Could not find the file /nosuch"), "\(missing)")
            // A stopped container: its root is mounted for the copy.
            #expect(s.docker("create", "--name", "idle", "busybox").status == 0)
            #expect(s.docker("cp", dir + "/f", "idle:/").status == 0)
            #expect(s.docker("cp", "idle:/f", dir + "/fromidle").status == 0)
            #expect(readFile(dir + "/fromidle") == "hello cp\n")
        }
    }
}

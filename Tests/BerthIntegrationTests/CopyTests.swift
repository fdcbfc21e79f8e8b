import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// Issue #16's `cp` items: copying through the container's mounts, tar
/// streams on standard input and output, Docker's refusals.
@Suite("cp through mounts and tar streams", .serialized, .enabled(if: isRoot, "needs root for namespaces and mounts"))
struct CopyTests {
    /// A host directory for bind mounts and copies, removed afterwards.
    private func withHostDirectory(_ body: (String) throws -> Void) rethrows {
        let host = makeTempDirectory("cpmounts")
        defer { removeTree(host) }
        try body(host)
    }

    @Test(
        "cp in and out goes through bind mounts and volumes, running and stopped; the layer stays untouched",
        arguments: isolationBackends)
    func throughMounts(isolation: String) {
        withStore { s in
            withHostDirectory { host in
                #expect(sh("mkdir -p \(host)/bind \(host)/ro && echo bound > \(host)/bind/x").status == 0)
                writeFile(host + "/f", "from host\n")
                let run = s.berth(
                    "run", "-d", "--isolation", isolation, "--name", "mnt", "-h", "boxhost", "-v", "vol:/data", "-v",
                    "\(host)/bind:/b",
                    "-v", "\(host)/ro:/ro:ro", "-v", "/anon", "busybox", "sleep", "120")
                #expect(run.status == 0, "\(run.stderr)")
                let volumeData = s.root + "/volumes/vol/_data"
                let anonymousData = s.inspect(
                    "mnt", "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Source}}{{end}}{{end}}")
                #expect(anonymousData.hasPrefix(s.root + "/volumes/"), "the anonymous volume: \(anonymousData)")
                for state in ["running", "stopped"] {
                    // In: into a volume and into a bind.
                    let intoVolume = s.berth("cp", host + "/f", "mnt:/data/\(state)")
                    #expect(intoVolume.status == 0, "\(state): \(intoVolume.stderr)")
                    #expect(readFile(volumeData + "/\(state)") == "from host\n", "\(state): the volume holds the copy")
                    #expect(s.berth("cp", host + "/f", "mnt:/b/").status == 0)
                    #expect(s.berth("cp", host + "/f", "mnt:/anon/\(state)").status == 0)
                    #expect(readFile(anonymousData + "/\(state)") == "from host\n", "\(state): the anonymous volume holds it")
                    #expect(readFile(host + "/bind/f") == "from host\n", "\(state): the bind's source holds the copy")
                    // Out: from a bind, a volume and Berth's /etc files.
                    #expect(s.berth("cp", "mnt:/b/x", host + "/x-\(state)").status == 0)
                    #expect(readFile(host + "/x-\(state)") == "bound\n")
                    #expect(s.berth("cp", "mnt:/data/\(state)", host + "/v-\(state)").status == 0)
                    #expect(readFile(host + "/v-\(state)") == "from host\n")
                    // Berth's /etc files, where the backend gives them (chroot has none).
                    if isolation == "namespaces" {
                        #expect(s.berth("cp", "mnt:/etc/hostname", host + "/hostname-\(state)").status == 0)
                        #expect(
                            readFile(host + "/hostname-\(state)") == "boxhost\n",
                            "\(state): /etc/hostname as the container sees it")
                        #expect(s.berth("cp", "mnt:/etc/hosts", host + "/hosts-\(state)").status == 0)
                        #expect(readFile(host + "/hosts-\(state)").contains("boxhost"))
                    }
                    // A read-only mount refuses a copy in, with Docker's words.
                    expectOneErrorLine(
                        s.berth("cp", host + "/f", "mnt:/ro/"), naming: ["mounted volume is marked read-only", "mnt:/ro/"])
                    #expect(!fileExists(host + "/ro/f"))
                    // Nothing of it landed in the container's own layer.
                    let diff = s.berth("diff", "mnt").stdout
                    #expect(!diff.contains("/data/\(state)") && !diff.contains("/b/f"), "\(state): diff shows\n\(diff)")
                    if state == "running" {
                        if isolation == "namespaces" {  // chroot has no exec
                            #expect(s.berth("exec", "mnt", "cat", "/data/running").stdout == "from host\n")
                        }
                        #expect(s.berth("stop", "-t", "0", "mnt").status == 0)
                    }
                }
                // A container that never started: its volume's mount point is made and the copy lands in the volume.
                #expect(s.berth("create", "--name", "fresh", "-v", "vol2:/inside", "busybox", "true").status == 0)
                let fresh = s.berth("cp", host + "/f", "fresh:/inside/")
                #expect(fresh.status == 0, "\(fresh.stderr)")
                #expect(readFile(s.root + "/volumes/vol2/_data/f") == "from host\n")
                // Its volume over image content is filled from the image first, as at create in Docker;
                // one a container emptied after its start stays as the container left it.
                #expect(s.berth("create", "--name", "fresh2", "-v", "vol4:/etc", "busybox", "true").status == 0)
                #expect(s.berth("cp", host + "/f", "fresh2:/etc/").status == 0)
                #expect(fileExists(s.root + "/volumes/vol4/_data/passwd") && fileExists(s.root + "/volumes/vol4/_data/f"))
                #expect(
                    s.berth("run", "--name", "emptied", "-v", "vol5:/etc", "busybox", "sh", "-c", "rm -rf /etc/*").status == 0)
                #expect(s.berth("cp", host + "/f", "emptied:/etc/").status == 0)
                #expect(FileSystem.list(s.root + "/volumes/vol5/_data") == ["f"])
                // A --read-only root refuses a copy in, as Docker's; its volume takes it.
                #expect(s.berth("create", "--read-only", "--name", "rofs", "-v", "vol3:/w", "busybox", "true").status == 0)
                expectOneErrorLine(s.berth("cp", host + "/f", "rofs:/"), naming: ["container rootfs is marked read-only"])
                // A missing parent is not made: nothing lands in the read-only root.
                expectOneErrorLine(
                    s.berth("cp", host + "/f", "rofs:/newdir/file"),
                    naming: ["Could not find the file /newdir in container rofs"])
                #expect(!s.berth("diff", "rofs").stdout.contains("/newdir"))
                #expect(s.berth("cp", host + "/f", "rofs:/w/").status == 0)
                #expect(readFile(s.root + "/volumes/vol3/_data/f") == "from host\n")
                #expect(mounts(under: s.root).isEmpty, "cp's mounts are gone with its private namespace")
            }
        }
    }

    @Test("cp out without -a plants nothing privileged on the host: setuid bits cleared, device nodes left out with a warning")
    func nothingPrivilegedOut() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "dv", "--network", "none", "busybox", "sleep", "100").status == 0)
            let made = s.berth(
                "exec", "dv", "sh", "-c",
                "mkdir /tmp/d && mknod /tmp/d/disk b 7 0 && chmod 666 /tmp/d/disk && cp /bin/busybox /tmp/d/suid && chmod 6755 /tmp/d/suid"
            )
            #expect(made.status == 0, "\(made.stderr)")
            let out = makeTempDirectory("suid")
            defer { removeTree(out) }
            let plain = s.berth("cp", "dv:/tmp/d", out + "/plain")
            #expect(plain.status == 0)
            #expect(plain.stderr == "WARNING: left out device node plain/disk: cp -a keeps device nodes and setuid bits\n")
            #expect(!fileExists(out + "/plain/disk"))
            #expect(sh("stat -c %a \(out)/plain/suid").stdout == "755\n")
            // -a is archive mode: the container's owners, modes and nodes, as the user asked.
            #expect(s.berth("cp", "-a", "dv:/tmp/d", out + "/archived").status == 0)
            #expect(
                sh("stat -c '%a %F' \(out)/archived/suid \(out)/archived/disk").stdout
                    == "6755 regular file\n666 block special file\n")
        }
    }

    @Test("cp CTR:DIR/. DEST copies DIR's contents: into DEST when it exists, as a new DEST when not")
    func directoryContents() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "src", "--network", "none", "busybox", "sleep", "100").status == 0)
            #expect(s.berth("exec", "src", "sh", "-c", "mkdir -p /app/sub && echo a > /app/a && echo b > /app/sub/b").status == 0)
            let out = makeTempDirectory("contents")
            defer { removeTree(out) }
            _ = sh("mkdir \(out)/existing && echo kept > \(out)/existing/mine")
            #expect(s.berth("cp", "src:/app/.", out + "/existing").status == 0)
            #expect(sh("cd \(out)/existing && find . | sort").stdout == ".\n./a\n./mine\n./sub\n./sub/b\n")
            #expect(s.berth("cp", "src:/app/.", out + "/new").status == 0)
            #expect(sh("cd \(out)/new && find . | sort").stdout == ".\n./a\n./sub\n./sub/b\n")
            expectOneErrorLine(s.berth("cp", "src:/nope/.", out), naming: ["No such container:path: src:/nope/."])
            expectOneErrorLine(s.berth("cp", "src:/app/a/.", out), naming: ["needs a directory"])
            // A file where the directory would go is kept as it was.
            writeFile(out + "/afile", "precious\n")
            expectOneErrorLine(
                s.berth("cp", "src:/app/.", out + "/afile"), naming: ["cannot overwrite non-directory", "afile"])
            #expect(readFile(out + "/afile") == "precious\n")
        }
    }

    @Test("two cp at once into the same new directory, in and out: both succeed and merge, never an internal path")
    func concurrentCopies() {
        withStore { s in
            let made = s.berth(
                "run", "-d", "--name", "src", "--network", "none", "busybox", "sh", "-c",
                "mkdir -p /app && cd /app && for d in 1 2 3 4 5 6 7 8; do mkdir d$d; "
                    + "for f in 1 2 3 4 5 6 7 8 9 10; do echo $d$f > d$d/f$f; done; done; touch /ready; sleep 300")
            #expect(made.status == 0, "\(made.stderr)")
            #expect(eventually(10) { s.berth("exec", "src", "test", "-e", "/ready").status == 0 })
            let out = makeTempDirectory("cprace")
            defer { removeTree(out) }
            let cp = "\(shellQuote(berthBinary)) --root \(shellQuote(s.root)) cp"
            let tree =
                ".\n"
                + (1...8).flatMap { d in ["./d\(d)"] + (1...10).map { "./d\(d)/f\($0)" }.sorted() }.sorted().joined(
                    separator: "\n") + "\n"
            #expect(s.berth("cp", "src:/app", out + "/srctree").status == 0)
            for round in 1...8 {
                // Out: two copies of /app to one new host directory (the later may nest as app/).
                let pair = sh(
                    "(\(cp) src:/app \(out)/par\(round) 2>\(out)/o1; echo $? > \(out)/s1) & "
                        + "(\(cp) src:/app \(out)/par\(round) 2>\(out)/o2; echo $? > \(out)/s2) & wait")
                #expect(pair.status == 0)
                #expect(
                    readFile(out + "/s1") == "0\n" && readFile(out + "/s2") == "0\n",
                    "out, round \(round): \(readFile(out + "/o1")) \(readFile(out + "/o2"))")
                // In: two copies of a host tree to one new directory in the container.
                let into = sh(
                    "(\(cp) \(out)/srctree src:/in\(round) 2>\(out)/i1; echo $? > \(out)/t1) & "
                        + "(\(cp) \(out)/srctree src:/in\(round) 2>\(out)/i2; echo $? > \(out)/t2) & wait")
                #expect(into.status == 0)
                let errors = readFile(out + "/i1") + readFile(out + "/i2")
                #expect(
                    readFile(out + "/t1") == "0\n" && readFile(out + "/t2") == "0\n",
                    "in, round \(round): \(errors)")
                #expect(!errors.contains("/tmp/") && !errors.contains("transfer.tar"), "no internal path: \(errors)")
                let inside = s.berth(
                    "exec", "src", "sh", "-c", "cd /in\(round) && find . -path ./srctree -prune -o -print | sort")
                #expect(inside.stdout == tree, "in, round \(round): the whole tree arrived")
            }
            for round in 1...8 {
                let copied = sh("cd \(out)/par\(round) && find . -path ./app -prune -o -print | sort").stdout
                #expect(copied == tree, "out, round \(round): the whole tree arrived")
            }
        }
    }

    @Test(
        "cp -L follows a symlink SRC inside the container or on the host, keeping its name; a host symlink to a directory as DEST is copied into"
    )
    func followLinks() {
        withStore { s in
            let made = s.berth(
                "run", "-d", "--name", "src", "--network", "none", "busybox", "sh", "-c",
                "mkdir -p /app && echo data > /app/real && ln -s real /app/rel && ln -s rel /app/chain "
                    + "&& ln -s /app /abslink && ln -s ../../../../etc/passwd /app/escape && touch /ready; sleep 300")
            #expect(made.status == 0, "\(made.stderr)")
            #expect(eventually(10) { s.berth("exec", "src", "test", "-e", "/ready").status == 0 })
            let out = makeTempDirectory("cplinks")
            defer { removeTree(out) }
            // Without -L the link itself; with -L the file it leads to, under the link's name.
            #expect(s.berth("cp", "src:/app/rel", out + "/plain").status == 0)
            #expect(sh("readlink \(out)/plain").stdout == "real\n")
            #expect(s.berth("cp", "-L", "src:/app/chain", out + "/").status == 0)
            #expect(sh("test -f \(out)/chain && ! test -L \(out)/chain && cat \(out)/chain").stdout == "data\n")
            #expect(s.berth("cp", "--follow-link", "src:/abslink", out + "/tree").status == 0)
            #expect(sh("test -d \(out)/tree && ! test -L \(out)/tree && cat \(out)/tree/real").stdout == "data\n")
            // A link climbing out resolves inside the container's root: its /etc/passwd, not the host's.
            #expect(s.berth("cp", "-L", "src:/app/escape", out + "/esc").status == 0)
            #expect(readFile(out + "/esc") == s.berth("exec", "src", "cat", "/etc/passwd").stdout)
            let stream = sh("\(shellQuote(berthBinary)) --root \(shellQuote(s.root)) cp -L src:/app/chain - | tar -tvf -")
            #expect(stream.stdout.hasPrefix("-") && stream.stdout.hasSuffix(" chain\n"), "\(stream.stdout)")
            // Host side: -L copies the file a host link leads to.
            writeFile(out + "/hostfile", "host\n")
            #expect(symlink(out + "/hostfile", out + "/hostlink") == 0)
            #expect(s.berth("cp", "-L", out + "/hostlink", "src:/in").status == 0)
            #expect(s.berth("exec", "src", "sh", "-c", "test -f /in && ! test -L /in && cat /in").stdout == "host\n")
            #expect(s.berth("cp", out + "/hostlink", "src:/in2").status == 0)
            #expect(s.berth("exec", "src", "readlink", "/in2").stdout == out + "/hostfile\n")
            // DEST a host symlink to a directory, with and without a trailing slash: into the directory.
            _ = sh("mkdir \(out)/realdir && ln -s realdir \(out)/dirlink")
            let into = s.berth("cp", "src:/app/real", out + "/dirlink")
            #expect(into.status == 0, "\(into.stderr)")
            #expect(readFile(out + "/realdir/real") == "data\n")
            #expect(s.berth("cp", "src:/app/rel", out + "/dirlink/").status == 0)
            #expect(sh("readlink \(out)/realdir/rel").stdout == "real\n")
            #expect(sh("test -L \(out)/dirlink").status == 0, "the link itself is kept")
        }
    }

    @Test("a tree 1500 directories deep (a container can make one) is copied, exported and committed, not a crash")
    func deepTree() {
        withStore { s in
            #expect(s.berth("run", "-d", "--name", "deep", "--network", "none", "busybox", "sleep", "100").status == 0)
            let made = s.berth(
                "exec", "deep", "sh", "-c",
                "mkdir /tmp/d && cd /tmp/d && i=0 && while [ $i -lt 1500 ]; do mkdir a && cd a && i=$((i+1)); done && echo x > f"
            )
            #expect(made.status == 0, "\(made.stderr)")
            let out = makeTempDirectory("deep")
            defer { removeTree(out) }
            let copied = s.berth("cp", "deep:/tmp/d", out)
            #expect(copied.status == 0, "cp: \(copied.stderr)")
            #expect(sh("find \(out) -name f").stdout.split(separator: "/").filter { $0 == "a" }.count == 1500)
            let exported = s.berth("export", "-o", out + "/deep.tar", "deep")
            #expect(exported.status == 0, "export: \(exported.stderr)")
            #expect(sh("tar -tf \(out)/deep.tar | grep -c '/f$'").stdout == "1\n")
            let committed = s.berth("commit", "deep", "deep:img")
            #expect(committed.status == 0, "commit: \(committed.stderr)")
        }
    }

    @Test("a symlink inside a volume or bind never leads cp out of the container's root")
    func symlinksInMountsStayInside() {
        withStore { s in
            withHostDirectory { host in
                writeFile(host + "/secret", "host secret\n")
                #expect(sh("mkdir -p \(host)/bind").status == 0)
                // In the bind's source: links to a host path and to the root.
                #expect(sh("ln -s \(host) \(host)/bind/evil && ln -s / \(host)/bind/up").status == 0)
                #expect(s.berth("run", "-d", "--name", "lnk", "-v", "\(host)/bind:/b", "busybox", "sleep", "120").status == 0)
                expectOneErrorLine(s.berth("cp", "lnk:/b/evil/secret", host + "/stolen"), naming: ["lnk:/b/evil/secret"])
                #expect(!fileExists(host + "/stolen"))
                writeFile(host + "/payload", "payload\n")
                // /b/up/ is the container's /, not the host's.
                #expect(s.berth("cp", host + "/payload", "lnk:/b/up/").status == 0)
                #expect(s.berth("exec", "lnk", "cat", "/payload").stdout == "payload\n")
                #expect(!fileExists("/payload"), "nothing written at the host's /")
                #expect(
                    s.berth("cp", host + "/payload", "lnk:/b/evil/injected").status != 0 || !fileExists(host + "/injected"))
                #expect(!fileExists(host + "/injected"))
                #expect(readFile(host + "/secret") == "host secret\n")
            }
        }
    }

    @Test("cp SRC - writes a tar stream; cp - CTR:DIR extracts one into DIR, confined to the container")
    func tarStreams() {
        withStore { s in
            withHostDirectory { host in
                #expect(
                    s.berth(
                        "run", "-d", "--name", "tar", "-v", "tv:/vol", "busybox", "sh", "-c",
                        "mkdir -p /src/sub && echo a > /src/sub/a && chown 7:8 /src/sub/a && mkdir /dst && sleep 120"
                    ).status == 0)
                #expect(eventually(5) { s.berth("exec", "tar", "test", "-d", "/dst").status == 0 })
                let berthCommand = "\(shellQuote(berthBinary)) --root \(shellQuote(s.root))"
                // Out: a tar on stdout, the owners as they are in the container; no file named '-'.
                let listing = sh("cd \(host) && \(berthCommand) cp tar:/src - | tar -tvf -")
                #expect(listing.status == 0, "\(listing.stderr)")
                #expect(listing.stdout.contains("src/sub/a") && listing.stdout.contains("7/8"), "\(listing.stdout)")
                #expect(!fileExists(host + "/-"))
                // In: a tar from stdin into an existing directory, and into a volume.
                #expect(sh("mkdir -p \(host)/tree/d && echo one > \(host)/tree/d/one").status == 0)
                let extract = sh("tar -C \(host)/tree -cf - d | \(berthCommand) cp - tar:/dst")
                #expect(extract.status == 0, "\(extract.stderr)")
                #expect(s.berth("exec", "tar", "cat", "/dst/d/one").stdout == "one\n")
                #expect(sh("tar -C \(host)/tree -czf - d | \(berthCommand) cp - tar:/vol").status == 0, "gzip is taken too")
                #expect(readFile(s.root + "/volumes/tv/_data/d/one") == "one\n")
                // DIR must exist and be a directory.
                expectOneErrorLine(
                    runProcess(["/bin/sh", "-c", "tar -C \(host)/tree -cf - d | \(berthCommand) cp - tar:/missing"]),
                    naming: ["destination \"tar:/missing\" must be a directory"])
                expectOneErrorLine(
                    runProcess(["/bin/sh", "-c", "tar -C \(host)/tree -cf - d | \(berthCommand) cp - tar:/dst/d/one"]),
                    naming: ["destination \"tar:/dst/d/one\" must be a directory"])
                // A hostile archive: an entry climbing out of DIR, a symlink to the host's /.
                let hostile = host + "/hostile.tar"
                let made = runProcess([
                    "python3", "-c",
                    """
                    import tarfile, io, sys
                    with tarfile.open(sys.argv[1], 'w') as t:
                        i = tarfile.TarInfo('../../escaped'); data = b'x\\n'; i.size = len(data); t.addfile(i, io.BytesIO(data))
                    """, hostile,
                ])
                #expect(made.status == 0, "\(made.stderr)")
                expectOneErrorLine(
                    runProcess(["/bin/sh", "-c", "\(berthCommand) cp - tar:/dst < \(hostile)"]), naming: ["../../escaped"])
                #expect(s.berth("exec", "tar", "test", "-e", "/escaped").status != 0)
                let linked = host + "/linked.tar"
                #expect(
                    runProcess([
                        "python3", "-c",
                        """
                        import tarfile, io, sys
                        with tarfile.open(sys.argv[1], 'w') as t:
                            l = tarfile.TarInfo('root'); l.type = tarfile.SYMTYPE; l.linkname = '/'; t.addfile(l)
                            i = tarfile.TarInfo('root\(host)/planted'); data = b'x\\n'; i.size = len(data); t.addfile(i, io.BytesIO(data))
                        """, linked,
                    ]).status == 0)
                _ = runProcess(["/bin/sh", "-c", "\(berthCommand) cp - tar:/dst < \(linked)"])
                #expect(!fileExists(host + "/planted"), "the archive's symlink resolved inside the container")
                // Missing sources: Docker's words, exit 1.
                expectOneErrorLine(s.berth("cp", "tar:/nothing", host), naming: ["No such container:path: tar:/nothing"])
                expectOneErrorLine(
                    s.berth("cp", host + "/nothing", "tar:/dst"), naming: ["lstat \(host)/nothing: no such file or directory"])
                expectOneErrorLine(s.berth("cp", "tar:/nothing", "-"), naming: ["No such container:path: tar:/nothing"])
            }
        }
    }
}

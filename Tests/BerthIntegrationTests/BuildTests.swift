import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `berth build` through the real binary on busybox: RUN in real
/// containers, COPY/ADD into real layers, the image's files and config as a
/// user sees them with `run` and `inspect`, the cache, Docker's output.
@Suite("build", .enabled(if: isRoot, "needs root for namespaces, overlayfs and owners"), .serialized)
struct BuildTests {
    @Test("every basic instruction: files, env, workdir, user, cmd, ports, labels, volumes, healthcheck, history")
    func instructions() {
        let dockerfile = """
            FROM busybox
            ENV A=1 B="two words"
            ARG REV=0
            WORKDIR /app
            COPY a.txt .
            COPY dir /d3
            RUN echo "run $A $REV" > /app/run.txt && cat /app/a.txt
            LABEL x=y z="with space"
            EXPOSE 80 443/udp
            VOLUME /data
            STOPSIGNAL SIGQUIT
            HEALTHCHECK --interval=5m --timeout=3s --retries=4 CMD wget -q localhost || exit 1
            USER nobody
            ENTRYPOINT ["sh", "-c"]
            CMD ["cat /app/run.txt"]
            """
        withBuild(["Dockerfile": dockerfile, "a.txt": "hello\n", "dir/d.txt": "d\n", "dir/sub/c.txt": "c\n"]) { s, ctx in
            let result = s.build(["-t", "x", "--build-arg", "REV=7"], ctx)
            let out = lines(result.stdout).map(String.init)
            #expect(out.first?.hasPrefix("Sending build context to Docker daemon  ") == true)
            #expect(
                out.contains("Step 1/15 : FROM busybox")
                    && out.contains("Step 7/15 : RUN echo \"run $A $REV\" > /app/run.txt && cat /app/a.txt"))
            #expect(out.contains("hello"), "RUN output is streamed: \(result.stdout)")
            let running = out.first { $0.hasPrefix(" ---> Running in ") }.map { String($0.dropFirst(17)) } ?? ""
            #expect(isHex(running, count: 12) && out.contains("Removing intermediate container \(running)"))
            let id = s.image("x", "{{.Id}}")
            #expect(out.suffix(2) == ["Successfully built \(id.dropFirst(7).prefix(12))", "Successfully tagged x:latest"])
            #expect(s.berth("run", "--rm", "x").stdout == "run 1 7\n")
            #expect(
                s.image("x", "{{json .Config.Env}}")
                    == #"["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1","B=two words"]"#)
            #expect(s.image("x", "{{.Config.WorkingDir}} {{.Config.User}} {{.Config.StopSignal}}") == "/app nobody SIGQUIT")
            #expect(s.image("x", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}") == #"["sh","-c"] ["cat /app/run.txt"]"#)
            #expect(s.image("x", "{{json .Config.ExposedPorts}}") == #"{"443/udp":{},"80/tcp":{}}"#)
            #expect(
                s.image("x", "{{json .Config.Labels}} {{json .Config.Volumes}}") == #"{"x":"y","z":"with space"} {"/data":{}}"#)
            #expect(
                s.image("x", "{{json .Config.Healthcheck}}")
                    == #"{"Test":["CMD-SHELL","wget -q localhost || exit 1"],"Interval":300000000000,"Timeout":3000000000,"Retries":4}"#
            )
            // Files, with the context's files owned by root and modes kept.
            let tree = s.berth(
                "run", "--rm", "--user", "0", "--entrypoint", "", "x", "sh", "-c",
                "stat -c '%n %u:%g %a' /app /app/a.txt /d3/d.txt /d3/sub/c.txt; cat /app/a.txt /d3/sub/c.txt")
            #expect(
                tree.stdout
                    == "/app 0:0 755\n/app/a.txt 0:0 644\n/d3/d.txt 0:0 644\n/d3/sub/c.txt 0:0 644\nhello\nc\n",
                "\(tree.stderr)")
            // History: one entry per instruction; only WORKDIR, COPY and RUN made layers.
            let entries = s.history("x").map { "\($0.createdBy)|\($0.empty)" }
            #expect(entries.count == 15, "\(entries)")
            #expect(entries.contains("/bin/sh -c #(nop)  ENV A=1 B=two words|true"))
            #expect(entries.contains("|1 REV=7 /bin/sh -c echo \"run $A $REV\" > /app/run.txt && cat /app/a.txt|false"))
            #expect(entries.contains { $0.hasPrefix("/bin/sh -c #(nop) COPY file:") && $0.hasSuffix(" in . |false") })
            #expect(entries.contains("/bin/sh -c #(nop) WORKDIR /app|false"))
            #expect(entries.contains("/bin/sh -c #(nop)  CMD [\"cat /app/run.txt\"]|true"))
            #expect(s.image("x", "{{len .RootFS.Layers}}") == "5")
            let table = s.berth("history", "x").stdout
            #expect(table.contains("/bin/sh -c #(nop)  EXPOSE 443/udp 80/tcp"), "\(table)")
            // Intermediate images are hidden from `images`, shown with -a.
            #expect(lines(s.berth("images").stdout).count == 3)
            #expect(lines(s.berth("images", "-a").stdout).count == 16)
            // They are not dangling: image prune keeps them (and so the cache).
            #expect(s.berth("image", "prune", "-f").stdout == "Total reclaimed space: 0B\n")
            #expect(lines(s.berth("images", "-a").stdout).count == 16)
            // history names each step's image, as Docker does for a local build.
            let ids = lines(s.berth("history", "-q", "x").stdout)
            #expect(ids.count == 15 && ids.allSatisfy { isHex($0, count: 12) }, "\(ids)")
            #expect(ids.first.map(String.init) == String(id.dropFirst(7).prefix(12)))
            // rmi takes the untagged intermediate images along, as Docker's does.
            let rmi = s.berth("rmi", "x")
            #expect(rmi.status == 0 && lines(rmi.stdout).filter { $0.hasPrefix("Deleted: sha256:") }.count > 14, "\(rmi.stdout)")
            #expect(lines(s.berth("images", "-a").stdout).count == 2)
            #expect(FileSystem.list(s.root + "/layers/sha256").count == 1, "only busybox's layer is left")
        }
    }

    @Test("the cache: unchanged is all hits and fast; touch keeps it; chmod, content and build-args re-run from there")
    func cache() {
        let dockerfile = """
            FROM busybox
            ENV A=1
            COPY app.txt /app/
            ARG REV=0
            RUN echo "rev=$REV" > /rev
            RUN cat /app/app.txt > /copy
            """
        withBuild(["Dockerfile": dockerfile, "app.txt": "v1\n", "ignored.txt": "i\n", ".dockerignore": "ignored.txt\n"]) {
            s, ctx in
            let first = s.build(["-t", "c"], ctx)
            #expect(cacheHits(first) == 0)
            let firstID = s.image("c", "{{.Id}}")
            let start = now()
            let again = s.build(["-t", "c"], ctx)
            let elapsed = now() - start
            #expect(cacheHits(again) == 5 && !again.stdout.contains("Running in"))
            #expect(elapsed < 1.0, "a fully cached rebuild took \(elapsed) s")
            #expect(s.image("c", "{{.Id}}") == firstID)
            let app = ctx.path + "/app.txt"
            _ = sh("touch -d '2001-01-01' \(app)")
            #expect(cacheHits(s.build([], ctx)) == 5)
            _ = sh("chmod 600 \(app)")
            #expect(cacheHits(s.build([], ctx)) == 1)
            _ = sh("chmod 644 \(app)")
            #expect(cacheHits(s.build([], ctx)) == 5)
            writeFile(ctx.path + "/ignored.txt", "changed\n")
            #expect(cacheHits(s.build([], ctx)) == 5)
            #expect(cacheHits(s.build(["--build-arg", "REV=1"], ctx)) == 3)
            #expect(cacheHits(s.build(["--build-arg", "REV=0"], ctx)) == 5)
            writeFile(app, "v2\n")
            let changed = s.build(["-t", "c"], ctx)
            #expect(cacheHits(changed) == 1)
            #expect(s.output("c", "cat /copy") == "v2\n")
            let noCache = s.build(["--no-cache"], ctx)
            #expect(cacheHits(noCache) == 0)
            // A destination with and without its trailing / are different steps.
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\nCOPY app.txt /x\n")
            s.build(["-t", "file"], ctx)
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\nCOPY app.txt /x/\n")
            let dir = s.build(["-t", "dir"], ctx)
            #expect(cacheHits(dir) == 0)
            #expect(s.output("file", "cat /x") == "v2\n" && s.output("dir", "cat /x/app.txt") == "v2\n")
        }
    }

    @Test("a failing RUN exits 1 with Docker's message and leaves no container, mount or tag")
    func failingRun() {
        withBuild(["Dockerfile": "FROM busybox\nRUN echo out; echo err >&2; exit 3\n"]) { s, ctx in
            let result = s.berth(["build", "-t", "bad", ctx.path])
            #expect(result.status == 1)
            #expect(result.stdout.contains("out\n") && result.stderr.contains("err\n"))
            #expect(
                result.stderr.hasSuffix(
                    "Error: The command '/bin/sh -c echo out; echo err >&2; exit 3' returned a non-zero code: 3\n"))
            #expect(s.berth("ps", "-aq").stdout.isEmpty)
            #expect(s.berth("inspect", "bad").status == 1)
            #expect(FileSystem.list(s.root + "/tmp").isEmpty, "staging left: \(FileSystem.list(s.root + "/tmp"))")
        }
    }

    @Test("refusals: missing source, .. out of the context, bad instruction, unknown flag, several sources to a file")
    func refusals() {
        withBuild(["Dockerfile": "FROM busybox\n", "a": "a", "b": "b"]) { s, ctx in
            let cases: [(String, String)] = [
                ("FROM busybox\nCOPY missing /x\n", "file not found in build context"),
                ("FROM busybox\nCOPY ../etc/passwd /x\n", "forbidden path outside the build context"),
                ("FROM busybox\nFROB x\n", "unknown instruction: FROB"),
                ("FROM busybox\nRUN --mount=x true\n", "Unknown flag: mount"),
                ("FROM busybox\nCOPY a b /nodir\n", "must be a directory and end with a /"),
                ("RUN true\n", "before FROM"),
                ("FROM busybox\nSTOPSIGNAL SIGNOPE\n", "invalid signal"),
                ("FROM busybox\nCOPY --from=0 /x /y\n", "current build stage"),
                ("FROM --platform=linux/s390x busybox\n", "Berth builds only for this machine"),
                ("FROM busybox\nCOPY --chmod=9z a /a\n", "octal mode"),
                ("FROM busybox\nHEALTHCHECK --interval=5 CMD true\n", "invalid duration"),
                ("FROM busybox\nEXPOSE 99999\n", "invalid port"),
            ]
            for (text, message) in cases {
                writeFile(ctx.path + "/Dockerfile", text)
                let result = s.berth(["build", ctx.path])
                #expect(result.status == 1 || result.status == 125, "\(text): \(result.status)")
                #expect(result.stderr.contains(message), "\(text): \(result.stderr)")
                #expect(lines(result.stderr).count == 1, "\(text): one error line: \(result.stderr)")
            }
            #expect(s.berth(["build", "-f", ctx.path + "/nope", ctx.path]).status != 0)
            let nowhere = s.berth(["build", "/nonexistent/ctx"])
            #expect(nowhere.status == 1 && nowhere.stderr.contains("path \"/nonexistent/ctx\" not found"))
            let file = s.berth(["build", ctx.path + "/a"])
            #expect(file.status == 1 && file.stderr.contains("context must be a directory"))
            // A FIFO in the context is refused at once, never waited on.
            _ = sh("mkfifo \(ctx.path)/fifo")
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\nADD fifo /f\n")
            let fifo = s.berth(["build", ctx.path])
            #expect(fifo.status == 1 && fifo.stderr.contains("not a regular file or directory"), "\(fifo.stderr)")
            _ = sh("rm \(ctx.path)/fifo")
            // A missing base is pulled, as run does (no registry here: its error).
            writeFile(ctx.path + "/Dockerfile", "FROM nosuchimage\n")
            let missing = s.berth(["build", ctx.path])
            #expect(missing.status == 1 && missing.stderr.hasPrefix("Unable to find image 'nosuchimage:latest' locally\nError: "))
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\n")
            let platform = s.berth(["build", "--platform", "linux/s390x", ctx.path])
            #expect(platform.status == 1 && platform.stderr.contains("Berth builds only for this machine"))
            #expect(s.berth(["build", "--platform", "linux/\(ImageConfig.hostArchitecture)", ctx.path]).status == 0)
        }
    }

    @Test("multi-stage: the final image holds only the copied artefact; unused stages never run; --target")
    func multiStage() {
        let dockerfile = """
            FROM busybox AS base
            RUN echo base > /base
            FROM busybox AS unused
            RUN echo SHOULD-NOT-RUN && false
            FROM base AS Build
            RUN echo built > /art
            FROM scratch
            COPY --from=build /art /a1
            COPY --from=0 /base /a2
            COPY --from=busybox /bin/busybox /bin/sh
            """
        withBuild(["Dockerfile": dockerfile]) { s, ctx in
            let result = s.build(["-t", "ms"], ctx)
            #expect(!result.stdout.contains("SHOULD-NOT-RUN"))
            #expect(result.stdout.contains("Step 1/8 : FROM busybox AS base"))
            #expect(s.berth("run", "--rm", "ms", "/bin/sh", "-c", "cat /a1 /a2").stdout == "built\nbase\n")
            // Only the three copied files (and their directory) are in the image.
            let saved = s.berth("save", "-o", ctx.path + "/ms.tar", "ms")
            #expect(saved.status == 0)
            #expect(s.image("ms", "{{len .RootFS.Layers}}") == "3")
            let files = sh(
                "cd \(ctx.path) && mkdir x && tar -xf ms.tar -C x && for l in $(ls x/blobs/sha256); do tar -tf x/blobs/sha256/$l 2>/dev/null; done | sort"
            ).stdout
            #expect(files == "a1\na2\nbin/\nbin/sh\n", "\(files)")
            let target = s.build(["-t", "mid", "--target", "build"], ctx)
            #expect(!target.stdout.contains("SHOULD-NOT-RUN") && !target.stdout.contains("FROM scratch"))
            #expect(s.output("mid", "cat /base /art") == "base\nbuilt\n")
            #expect(s.berth(["build", "--target", "nosuch", ctx.path]).stderr.contains("nosuch"))
        }
    }

    @Test(".dockerignore: exclusions, ** and exceptions; the Dockerfile and .dockerignore can be excluded")
    func dockerignore() {
        let files = [
            "keep.md": "", "README.md": "", "docs/a.md": "", "docs/b.txt": "", "secret/key": "", "secret/pub": "",
            "node_modules/x/y.js": "", "a/b/c/deep.log": "", "top.log": "", "logs/keep.txt": "",
            ".dockerignore":
                "# c\n # not-comment\n*.md\n!README.md\n/secret\n!secret/pub\n**/*.log\nnode_modules/\nDockerfile\n.dockerignore\n./logs/../logs\n",
            "Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
        ]
        withBuild(files) { s, ctx in
            s.build(["-t", "ign"], ctx)
            #expect(
                s.output("ign", "cd /ctx && find . | sort")
                    == ".\n./README.md\n./a\n./a/b\n./a/b/c\n./docs\n./docs/a.md\n./docs/b.txt\n./secret\n./secret/pub\n")
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\nCOPY secret/key /k\n")
            let refused = s.berth(["build", ctx.path])
            #expect(refused.status == 1 && refused.stderr.contains("excluded by .dockerignore"))
        }
    }

    @Test("symlinks: followed inside the context, never out of it; kept as links inside copied directories")
    func symlinks() {
        withBuild(["real.txt": "real\n", "sub/f": "f\n"]) { s, ctx in
            _ = sh(
                "cd \(ctx.path) && ln -s real.txt link && ln -s /etc/hostname abs && ln -s ../../../../../etc/passwd up && ln -s sub dirlink && ln -s ../real.txt sub/up"
            )
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\nCOPY link /l1\nCOPY dirlink /dl/\nCOPY . /all/\n")
            s.build(["-t", "links"], ctx)
            #expect(s.output("links", "cat /l1; test -L /l1 || echo regular") == "real\nregular\n")
            #expect(
                s.output("links", "for l in /all/abs /all/link /dl/up; do readlink $l; done; cat /dl/f")
                    == "/etc/hostname\nreal.txt\n../real.txt\nf\n")
            // A .dockerignore symlink out of the context reads nothing outside it
            // (the file it points at would exclude real.txt).
            let outside = makeTempDirectory("outside")
            defer { removeTree(outside) }
            writeFile(outside + "/ignore", "real.txt\n")
            _ = sh("cd \(ctx.path) && ln -s \(outside)/ignore .dockerignore")
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\nCOPY real.txt /r\n")
            s.build(["-t", "ign"], ctx)
            for source in ["abs", "up"] {
                writeFile(ctx.path + "/Dockerfile", "FROM busybox\nCOPY \(source) /x\n")
                let refused = s.berth(["build", ctx.path])
                #expect(
                    refused.status == 1 && refused.stderr.contains("file not found in build context"),
                    "\(source): \(refused.stderr)")
            }
        }
    }

    @Test("ADD unpacks local tar and gzip archives by content, and fetches http:// URLs with mode 0600")
    func add() {
        withBuild(["src/x/y.txt": "y\n", "fake.tar.gz": "notatar\n", "www/file.txt": "served\n"]) { s, ctx in
            _ = sh("cd \(ctx.path) && tar -C src -czf t.tar.gz x && tar -C src -cf plain.tar x && echo text | gzip > single.gz")
            let port = freePort()
            let server = sh("cd \(ctx.path)/www && (python3 -m http.server \(port) --bind 127.0.0.1 >/dev/null 2>&1 & echo $!)")
            let serverPid = Int32(server.stdout.split(separator: "\n").first ?? "") ?? 0
            defer { if serverPid > 0 { kill(serverPid, SIGTERM) } }
            let probe = "python3 -c 'import urllib.request;urllib.request.urlopen(\"http://127.0.0.1:\(port)/file.txt\")'"
            #expect(eventually(10) { sh(probe).status == 0 }, "the http server on port \(port) did not come up")
            writeFile(
                ctx.path + "/Dockerfile",
                """
                FROM busybox
                ADD t.tar.gz /gz/
                ADD plain.tar /plain
                ADD fake.tar.gz single.gz /kept/
                COPY t.tar.gz /copied/
                ADD http://127.0.0.1:\(port)/file.txt /dl/
                ADD --chown=5:6 http://127.0.0.1:\(port)/file.txt /named.txt
                ADD --chown=5:6 plain.tar /owned/
                """)
            s.build(["-t", "add"], ctx)
            #expect(
                s.output("add", "find /gz /plain /kept /copied | sort; cat /gz/x/y.txt /dl/file.txt")
                    == "/copied\n/copied/t.tar.gz\n/gz\n/gz/x\n/gz/x/y.txt\n/kept\n/kept/fake.tar.gz\n/kept/single.gz\n/plain\n/plain/x\n/plain/x/y.txt\ny\nserved\n"
            )
            #expect(
                s.output("add", "stat -c '%a %u:%g' /dl/file.txt /named.txt /owned/x/y.txt")
                    == "600 0:0\n600 5:6\n644 5:6\n")
            // Docker unpacks bzip2 and xz too; Berth says it cannot rather than copy them as they are.
            _ = sh("cd \(ctx.path) && tar -C src -cJf t.tar.xz x")
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\nADD t.tar.xz /xz/\n")
            let xz = s.berth(["build", ctx.path])
            #expect(xz.status == 1 && xz.stderr.contains("xz-compressed archives are not supported"), "\(xz.stderr)")
        }
    }

    @Test("ADD https:// verifies the server: refused with one line untrusted, fetched once its CA is in certs.d")
    func addOverHTTPS() {
        withBuild(["www/file.txt": "over tls\n"]) { s, ctx in
            let port = freePort()
            let certsDir = "/etc/berth/certs.d/127.0.0.1:\(port)"
            defer { _ = sh("rm -rf \(shellQuote(certsDir)); rmdir /etc/berth/certs.d /etc/berth 2>/dev/null") }
            #expect(
                sh(
                    "cd \(ctx.path) && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1"
                        + " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null"
                ).status == 0, "openssl is needed; run 'make deps'")
            writeFile(
                ctx.path + "/serve.py",
                """
                import http.server, ssl, functools
                handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory="\(ctx.path)/www")
                server = http.server.HTTPServer(("127.0.0.1", \(port)), handler)
                tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                tls.load_cert_chain("\(ctx.path)/cert.pem", "\(ctx.path)/key.pem")
                server.socket = tls.wrap_socket(server.socket, server_side=True)
                server.serve_forever()
                """)
            let server = sh("(python3 \(ctx.path)/serve.py >/dev/null 2>&1 & echo $!)")
            let serverPid = Int32(server.stdout.split(separator: "\n").first ?? "") ?? 0
            defer { if serverPid > 0 { kill(serverPid, SIGTERM) } }
            let probe = "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", \(port)), 1)'"
            #expect(eventually(10) { sh(probe).status == 0 }, "the https server on port \(port) did not come up")
            writeFile(ctx.path + "/Dockerfile", "FROM busybox\nADD https://127.0.0.1:\(port)/file.txt /got.txt\n")
            let untrusted = s.berth(["build", "-t", "tls", ctx.path])
            #expect(untrusted.status == 1, "\(untrusted.stdout)")
            expectOneErrorLine(untrusted, naming: ["127.0.0.1:\(port)", "certs.d"], status: 1)
            _ = sh("mkdir -p \(shellQuote(certsDir)) && cp \(ctx.path)/cert.pem \(shellQuote(certsDir))/ca.crt")
            s.build(["-t", "tls"], ctx)
            #expect(s.output("tls", "cat /got.txt; stat -c %a /got.txt") == "over tls\n600\n")
        }
    }

    @Test("--chown by name and number, --chmod, COPY --from keeps owners, USER for RUN, WORKDIR made as root")
    func ownership() {
        let dockerfile = """
            FROM busybox
            RUN echo 'alice:x:1234:5678::/home/alice:/bin/sh' >> /etc/passwd && echo 'grp:x:4321:' >> /etc/group && mkdir /owned && chown 9:9 /owned
            COPY f /default
            COPY --chown=alice f /byname
            COPY --chown=alice:grp f /both
            COPY --chown=77 f /num
            COPY --chown=7:8 dir /cd/new/
            COPY --chmod=0755 f /mode
            USER alice
            RUN id > /tmp/id
            WORKDIR /made/here
            FROM busybox
            COPY --from=0 /owned /o/
            COPY --from=0 /cd /cd
            """
        withBuild(["Dockerfile": dockerfile, "f": "f\n", "dir/sub/s": "s\n"]) { s, ctx in
            _ = sh("chmod 640 \(ctx.path)/f")
            let stage0 = s.build(["-q"], ctx)
            #expect(stage0.stdout.hasPrefix("sha256:"))
            s.berth("tag", String(stage0.stdout.dropLast()), "final")
            // The first stage by writing a Dockerfile without the second.
            writeFile(ctx.path + "/Dockerfile", dockerfile.components(before: "FROM busybox\nCOPY --from"))
            s.build(["-t", "own"], ctx)
            #expect(
                s.berth(
                    "run", "--rm", "--user", "0", "own", "stat", "-c", "%n %u:%g %a", "/default", "/byname", "/both", "/num",
                    "/cd/new", "/cd/new/sub/s", "/mode", "/made/here"
                ).stdout
                    == "/default 0:0 640\n/byname 1234:5678 640\n/both 1234:4321 640\n/num 77:77 640\n/cd/new 7:8 755\n/cd/new/sub/s 7:8 644\n/mode 0:0 755\n/made/here 0:0 755\n"
            )
            #expect(s.output("own", "cat /tmp/id") == "uid=1234(alice) gid=5678 groups=5678\n")
            #expect(s.output("final", "stat -c '%n %u:%g' /o /cd/new/sub/s") == "/o 9:9\n/cd/new/sub/s 7:8\n")
        }
    }

    @Test("ARG before and after FROM, --build-arg, proxies, the unused-args warning")
    func args() {
        let dockerfile = """
            ARG V=1
            ARG BASE=busybox
            FROM $BASE
            RUN echo "before=[$V]" > /before
            ARG V
            RUN echo "after=[$V]" > /after
            ARG W=def
            ENV W=env
            RUN echo "w=$W" > /w
            ARG X
            RUN echo "x=[${X:-unset}] proxy=[$HTTP_PROXY]" > /x
            ARG BASE
            RUN echo "base=[$BASE]" > /base
            """
        withBuild(["Dockerfile": dockerfile]) { s, ctx in
            let result = s.build(
                [
                    "-t", "args", "--build-arg", "V=2", "--build-arg", "W=cli", "--build-arg", "UNUSED=z", "--build-arg",
                    "HTTP_PROXY=http://p:3128",
                ],
                ctx)
            #expect(result.stderr.contains("[Warning] One or more build-args [UNUSED] were not consumed"))
            #expect(
                s.output("args", "cat /before /after /w /x /base")
                    == "before=[]\nafter=[2]\nw=env\nx=[unset] proxy=[http://p:3128]\nbase=[busybox]\n")
            #expect(
                s.image("args", "{{json .Config.Env}}")
                    == #"["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","W=env"]"#)
            let history = s.history("args").map(\.createdBy).joined(separator: "\n")
            #expect(history.contains("|1 V=2 /bin/sh -c echo \"after=[$V]\" > /after") && !history.contains("3128"))
        }
    }

    @Test("ONBUILD triggers run in the child's build with the child's context, then are gone")
    func onbuild() {
        let parent =
            "FROM busybox\nENV WHO=parent\nONBUILD COPY ctx.txt /from-child.txt\nONBUILD RUN echo \"ran as $WHO\" > /trig\n"
        withBuild(["Dockerfile": parent, "ctx.txt": "child context\n"]) { s, ctx in
            s.build(["-t", "parent"], ctx)
            #expect(
                s.image("parent", "{{json .Config.OnBuild}}")
                    == #"["COPY ctx.txt /from-child.txt","RUN echo \"ran as $WHO\" > /trig"]"#)
            writeFile(ctx.path + "/Dockerfile", "FROM parent\nENV WHO=child\n")
            let child = s.build(["-t", "child"], ctx)
            #expect(child.stdout.contains("# Executing 2 build triggers"))
            #expect(s.output("child", "cat /trig /from-child.txt") == "ran as parent\nchild context\n")
            #expect(s.image("child", "{{json .Config.OnBuild}}") == "null")
        }
    }

    @Test("SHELL, ENTRYPOINT resetting CMD, MAINTAINER, variable expansion in ENV, LABEL, WORKDIR, EXPOSE, VOLUME, USER")
    func shellAndExpansion() {
        let dockerfile = """
            FROM busybox
            SHELL ["/bin/sh", "-e", "-c"]
            RUN echo "$0 $-" > /shellinfo
            ENV abc=hello
            ENV abc=bye def=$abc
            ENV legacy  two  words  $abc
            LABEL a=${abc:+set} b=${E:-dflt} e=\\$abc f='$abc' g="$abc" h=${abc}_x
            WORKDIR /w/$abc
            WORKDIR sub
            EXPOSE 8000-8001/udp
            VOLUME ["/v/$abc"]
            ENTRYPOINT echo $HOME
            MAINTAINER me@x
            USER ${abc}:0
            """
        withBuild(["Dockerfile": dockerfile]) { s, ctx in
            s.build(["-t", "sh"], ctx)
            #expect(s.berth("run", "--rm", "--user", "0", "--entrypoint", "cat", "sh", "/shellinfo").stdout == "/bin/sh ce\n")
            #expect(
                s.image("sh", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}") == #"["/bin/sh","-e","-c","echo $HOME"] null"#)
            #expect(s.image("sh", "{{.Author}} {{.Config.User}} {{.Config.WorkingDir}}") == "me@x bye:0 /w/bye/sub")
            #expect(
                s.image("sh", "{{json .Config.Labels}}") == #"{"a":"set","b":"dflt","e":"$abc","f":"$abc","g":"bye","h":"bye_x"}"#
            )
            #expect(s.image("sh", "{{json .Config.Env}}").contains(#""def=hello","legacy=two  words  bye""#))
            #expect(
                s.image("sh", "{{json .Config.ExposedPorts}} {{json .Config.Volumes}}")
                    == #"{"8000/udp":{},"8001/udp":{}} {"/v/bye":{}}"#)
        }
    }

    @Test(
        "context and Dockerfile from standard input, -f, -q, --iidfile, --label, and RUN with --storage copy and --isolation chroot"
    )
    func inputsAndFlags() {
        withBuild(["a.txt": "from tar\n", "other.Dockerfile": "FROM busybox\nCOPY a.txt /a\nRUN cat /a\n"]) { s, ctx in
            let tar = sh(
                "tar -C \(ctx.path) -cf - . | \(shellQuote(berthBinary)) --root \(s.root) build -q -f other.Dockerfile -")
            #expect(tar.status == 0 && tar.stdout.hasPrefix("sha256:") && lines(tar.stdout).count == 1, "\(tar.stderr)")
            let plain = s.berth(["build", "-t", "piped", "-"], stdin: "FROM busybox\nRUN echo from-stdin > /s\n")
            #expect(plain.status == 0 && plain.stdout.contains("Successfully tagged piped:latest"), "\(plain.stderr)")
            let iid = ctx.path + "/iid"
            let labelled = s.berth([
                "build", "--iidfile", iid, "--label", "org.x=1", "--label", "odd=$HOME \"q\" \\", "-t", "lab", "-f",
                ctx.path + "/other.Dockerfile", ctx.path,
            ])
            #expect(labelled.status == 0)
            #expect(readFile(iid) == s.image("lab", "{{.Id}}"))
            #expect(s.image("lab", "{{json .Config.Labels}}") == #"{"odd":"$HOME \"q\" \\","org.x":"1"}"#)
            #expect(labelled.stdout.contains("Step 4/4 : LABEL \"org.x\"=\"1\" \"odd\""), "\(labelled.stdout)")
            writeFile(ctx.path + "/escaped.Dockerfile", "# escape=`\nFROM busybox\n")
            let escaped = s.berth([
                "build", "-q", "--label", "a=x`y \"q\" $H \\z", "-t", "esc", "-f", ctx.path + "/escaped.Dockerfile", ctx.path,
            ])
            #expect(
                escaped.status == 0 && s.image("esc", "{{json .Config.Labels}}") == #"{"a":"x`y \"q\" $H \\z"}"#,
                "\(escaped.stderr)")
            let copy = s.berth([
                "build", "--no-cache", "--storage", "copy", "-t", "copied", "-f", ctx.path + "/other.Dockerfile", ctx.path,
            ])
            #expect(copy.status == 0 && copy.stdout.contains("from tar"), "\(copy.stderr)")
            #expect(s.output("copied", "cat /a") == "from tar\n")
            let chroot = s.berth([
                "build", "--no-cache", "--isolation", "chroot", "-t", "chrooted", "-f", ctx.path + "/other.Dockerfile", ctx.path,
            ])
            #expect(chroot.status == 0 && chroot.stdout.contains("from tar"), "\(chroot.stderr)")
            #expect(chroot.stderr.contains("WARNING: the chroot backend does not isolate"))
        }
    }

    @Test("FROM pulls a missing base image from the registry; --pull checks one already there")
    func pullsBase() {
        guard LocalRegistry.binary != nil, LocalRegistry.skopeo != nil else {
            Issue.record("docker-registry and skopeo are needed; run 'make deps' (apt-get install docker-registry skopeo)")
            return
        }
        let registry = LocalRegistry()
        defer { registry.stop() }
        let dir = makeTempDirectory("buildpull")
        defer { removeTree(dir) }
        let seed = dir + "/seed", store = dir + "/store"
        let id = importBusybox(seed)
        #expect(berth(seed, "save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        registry.fill(from: dir + "/busybox.tar", as: "library/busybox:latest")
        registry.mirrorConfig(store)
        writeFile(dir + "/Dockerfile", "FROM busybox\nRUN echo pulled > /p\n")
        let built = berth(store, "build", "-t", "p", dir)
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.stderr.contains("Status: Downloaded newer image for busybox:latest"), "\(built.stderr)")
        #expect(berth(store, "inspect", "-f", "{{.Id}}", "busybox").stdout == id + "\n")
        #expect(berth(store, "run", "--rm", "p", "cat", "/p").stdout == "pulled\n")
        let again = berth(store, "build", "--pull", "-t", "p", dir)
        #expect(again.status == 0 && again.stderr.contains("Status: Image is up to date for busybox:latest"), "\(again.stderr)")
        #expect(cacheHits(again) == 1, "the same base: the RUN is cached")
        #expect(berth(store, "ps", "-aq").stdout.isEmpty && mounts(under: store).isEmpty)
    }

    @Test("RUN is on the default bridge network (eth0 with an address); --network none leaves only lo")
    func network() {
        withBuild([
            "Dockerfile":
                "FROM busybox\nRUN ls /sys/class/net > /nets && ip -4 -o addr show dev eth0 2>/dev/null | wc -l >> /nets\n"
        ]) { s, ctx in
            s.build(["-t", "bridged"], ctx)
            #expect(s.output("bridged", "cat /nets") == "eth0\nlo\n1\n")
            s.build(["--no-cache", "--network", "none", "-t", "isolated"], ctx)
            #expect(s.output("isolated", "cat /nets") == "lo\n0\n")
        }
    }

    @Test("a built HEALTHCHECK is probed by run's monitor; RUN's own container is never probed")
    func healthcheckRuns() {
        let dockerfile = """
            FROM busybox
            HEALTHCHECK --interval=1s --timeout=2s CMD touch /tmp/probed
            RUN sleep 2 && ! test -e /tmp/probed
            CMD ["sleep", "30"]
            """
        withBuild(["Dockerfile": dockerfile]) { s, ctx in
            s.build(["-t", "hc"], ctx)
            #expect(s.berth("run", "-d", "--name", "probed", "hc").status == 0)
            #expect(eventually(10) { s.inspect("probed", "{{.State.Health.Status}}") == "healthy" })
            #expect(s.berth("rm", "-f", "probed").status == 0)
        }
    }
}

extension String {
    /// The text before `marker` (all of it if absent).
    fileprivate func components(before marker: String) -> String {
        guard let range = firstRange(of: marker) else { return self }
        return String(self[..<range.lowerBound])
    }
}

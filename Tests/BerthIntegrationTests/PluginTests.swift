import Testing
#if canImport(Glibc)
import Glibc
#endif

/// External plugins: the examples in plugins/examples dropped into a plugin
/// directory become commands; broken candidates are listed with a reason.
@Suite("External plugins", .enabled(if: isRoot, "needs root for the store"))
struct PluginTests {
    private func withPlugins(_ body: (String, String) throws -> Void) rethrows {
        let root = makeTempDirectory("plugins")
        let dir = makeTempDirectory("plugin-dir")
        defer { berth(root, "rm", "-f", "web"); removeTree(root); removeTree(dir) }
        sh("cp \(packageRoot)/plugins/examples/berth-hello \(packageRoot)/plugins/examples/berth-fresh.berth \(dir)/")
        writeFile(dir + "/berth-broken", "#!/bin/sh\necho not json\n")
        writeFile(dir + "/berth-noexec", "#!/bin/sh\n")
        writeFile(dir + "/berth-ps", "#!/bin/sh\necho impostor\n")
        writeFile(dir + "/berth-badscript.berth", "if [ 1 == 1 {\n")
        sh("chmod +x \(dir)/berth-broken \(dir)/berth-ps")
        try body(root, dir)
    }

    private func run(_ root: String, _ dir: String, _ args: String...) -> ProcessResult {
        runProcess([berthBinary, "--root", root] + args, environment: ["BERTH_PLUGIN_PATH": dir])
    }

    @Test("a berth-hello executable runs as `hello`, with the store and binary in its environment")
    func executablePlugin() {
        withPlugins { root, dir in
            importBusybox(root)
            let hello = run(root, dir, "hello", "--shout", "you")
            #expect(hello.status == 0)
            #expect(hello.stdout == "HELLO, YOU\ncontainers in \(root): 0\n")
            let help = run(root, dir, "help", "hello").stdout
            #expect(help.contains("berth hello [OPTIONS] [NAME]") && help.contains("--shout"))
            let inspect = run(root, dir, "plugin", "inspect", "hello").stdout
            #expect(inspect.contains("\"Version\": \"1.0.0\"") && inspect.contains(dir + "/berth-hello"))
        }
    }

    @Test("plugin ls lists plugins with kind, origin and version, and rejected ones with the reason; nothing else breaks")
    func listing() {
        withPlugins { root, dir in
            let out = run(root, dir, "plugin", "ls").stdout
            let rows = lines(out).map(cells)
            #expect(
                rows.contains([
                    "command", "hello", dir + "/berth-hello", "1.0.0", "Greet someone, and count the containers in the store",
                ]))
            #expect(rows.contains { $0.prefix(4) == ["command", "fresh", dir + "/berth-fresh.berth", "script"] })
            #expect(
                rows.contains {
                    $0.prefix(3) == ["command", "broken", dir + "/berth-broken"] && $0.last!.hasPrefix("REJECTED: bad metadata")
                })
            #expect(rows.contains { $0.prefix(2) == ["command", "noexec"] && $0.last == "REJECTED: not executable" })
            #expect(
                rows.contains { $0.prefix(2) == ["command", "ps"] && $0.last!.contains("name clash with the built-in command") })
            #expect(rows.contains { $0.prefix(2) == ["command", "badscript.berth"] && $0.last!.contains("does not parse") })
            #expect(rows.contains { $0.prefix(3) == ["storage", "overlay", "plugins/storage-overlay"] })
            #expect(run(root, dir, "ps").status == 0, "the built-in ps still runs, not the impostor")
            #expect(!run(root, dir, "ps").stdout.contains("impostor"))
        }
    }

    @Test("a plugin is asked for its metadata once, and again only after its file changed")
    func metadataCached() {
        withPlugins { root, dir in
            importBusybox(root)  // the cache lives in the store
            let calls = dir + "/calls"
            writeFile(
                dir + "/berth-counted",
                """
                #!/bin/sh
                if [ "$1" = berth-plugin-metadata ]; then
                  echo asked >> \(calls)
                  echo '{"SchemaVersion": "1", "Name": "counted", "Version": "1", "ShortDescription": "Counts"}'
                  exit 0
                fi
                echo ran

                """)
            sh("chmod +x \(dir)/berth-counted")
            // A file changed in the last two seconds is not trusted yet (a
            // rewrite within one timestamp tick would look unchanged).
            usleep(2_100_000)
            let count = { lines(readFile(calls)).count }
            #expect(run(root, dir, "counted").stdout == "ran\n")
            #expect(run(root, dir, "help").stdout.contains("counted"))
            #expect(run(root, dir, "ps").status == 0)
            #expect(count() == 1, "three invocations, one metadata call: \(count())")
            // Edit the plugin: it is asked again, and its new answer is used.
            sh("sed -i 's/Counts/Counts again/' \(dir)/berth-counted")
            #expect(run(root, dir, "help").stdout.contains("Counts again"))
            #expect(count() == 2)
        }
    }

    @Test("a berth-fresh.berth script plugin runs in Berth's language with its arguments")
    func scriptPlugin() {
        withPlugins { root, dir in
            importBusybox(root)
            let first = run(root, dir, "fresh", "web", "busybox")
            #expect(first.status == 0 && first.stdout.hasPrefix("fresh web: "))
            let id1 = berth(root, "inspect", "-f", "{{.Id}}", "web").stdout
            #expect(run(root, dir, "fresh", "web", "busybox").status == 0)
            let id2 = berth(root, "inspect", "-f", "{{.Id}}", "web").stdout
            #expect(id1 != id2 && berth(root, "ps", "-aq").stdout.split(separator: "\n").count == 1)
            let usage = run(root, dir, "fresh")
            #expect(usage.status == 2 && usage.stdout == "usage: fresh NAME IMAGE\n")
        }
    }

    @Test("plugins complete in the REPL")
    func completion() {
        withPlugins { root, dir in
            let socket = "berth-plugin-\(getpid())"
            func tmux(_ args: [String]) -> ProcessResult {
                runProcess(
                    ["tmux", "-L", socket] + args, environment: ["HOME": "/tmp", "TERM": "xterm-256color"])
            }
            defer { killTmuxServer(socket) }
            _ = tmux([
                "new-session", "-d", "-x", "100", "-y", "20",
                "exec env BERTH_PLUGIN_PATH=\(shellQuote(dir)) BERTH_HISTORY=/dev/null \(shellQuote(berthBinary)) --root \(shellQuote(root))",
            ])
            let read = { tmux(["capture-pane", "-p"]).stdout }
            #expect(pollScreen(5, read) { $0.contains("berth>") }.ok)
            _ = tmux(["send-keys", "-l", "hell"])
            _ = tmux(["send-keys", "Tab"])
            _ = tmux(["send-keys", "-l", "|"])
            let completed = pollScreen(5, read) { $0.contains("berth> hello |") }
            #expect(completed.ok, "screen:\n\(completed.screen)")
        }
    }
}

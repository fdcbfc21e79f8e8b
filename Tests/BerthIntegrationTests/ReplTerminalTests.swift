import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The binary the terminal tests drive: `berthBinary` ($BERTH_BIN or
/// .build/debug/berth), else the `berth` built next to this test bundle, so
/// `swift test --scratch-path X` works without setting BERTH_BIN.
private let replBinary: String = {
    if fileExists(berthBinary) { return berthBinary }
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if n > 0 {
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var dir = exe
        while let slash = dir.lastIndex(of: "/"), dir != "/" {
            dir = String(dir[..<slash])
            if fileExists(dir + "/berth") && !fileExists(dir + "/berth/") { return dir + "/berth" }
            if dir.hasSuffix("/debug") || dir.hasSuffix("/release") { break }
        }
    }
    return berthBinary
}()

/// A berth REPL running in a detached tmux session on its own server socket,
/// so tests can type keys and read the screen as a user would.
private final class TerminalSession {
    let socket = "berth-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let root: String
    let historyFile: String

    init(root: String, historyFile: String) {
        self.root = root
        self.historyFile = historyFile
    }

    /// Starts `berth --root ROOT` in a 120x40 pane.
    func start() {
        let command =
            "exec env BERTH_HISTORY=\(shellQuote(historyFile)) "
            + "\(shellQuote(replBinary)) --root \(shellQuote(root))"
        tmux(["new-session", "-d", "-x", "120", "-y", "40", command])
    }

    /// Presses keys by tmux name (`Tab`, `C-c`, `Up`, `Enter`).
    func press(_ keys: String...) { tmux(["send-keys", "-t", "0"] + keys) }

    /// Types text literally.
    func type(_ text: String) { tmux(["send-keys", "-t", "0", "-l", text]) }

    /// The visible screen.
    func screen() -> String { tmux(["capture-pane", "-p", "-t", "0"]).stdout }

    /// Whether berth still runs in the pane (the session ends with it).
    var isRunning: Bool { tmux(["has-session", "-t", "0"]).status == 0 }

    /// Polls the screen until `condition` holds or `seconds` pass; returns
    /// the last screen and whether it held.
    @discardableResult
    func waitFor(_ seconds: Double = 10, _ condition: (String) -> Bool) -> (ok: Bool, screen: String) {
        pollScreen(seconds, screen, condition)
    }

    /// Waits for a fresh, empty prompt as the screen's last non-blank line.
    @discardableResult
    func waitForPrompt() -> (ok: Bool, screen: String) {
        waitFor { lastLine($0) == "berth>" }
    }

    func kill() { killTmuxServer(socket) }

    @discardableResult
    private func tmux(_ args: [String]) -> ProcessResult {
        runProcess(
            ["tmux", "-L", socket] + args,
            environment: ["HOME": "/tmp", "TERM": "xterm-256color"])
    }
}

/// The last non-blank line of a screen, trailing spaces trimmed.
private func lastLine(_ screen: String) -> String {
    let lines = screen.split(separator: "\n").map { line in
        String(line.reversed().drop(while: { $0 == " " }).reversed())
    }
    return lines.last(where: { !$0.isEmpty }) ?? ""
}

/// A temp store and history file, a session on them, and cleanup.
private func withREPL(_ body: (TerminalSession, String) throws -> Void) rethrows {
    let dir = makeTempDirectory("repl")
    let session = TerminalSession(root: dir + "/store", historyFile: dir + "/history")
    defer {
        session.kill()
        removeTree(dir)
    }
    session.start()
    try body(session, dir)
}

@Suite("ReplTerminal", .serialized)
struct ReplTerminalTests {
    // `sta` is ambiguous since `stats` exists (as in Docker): Tab lists both,
    // as bash does, and one more letter completes.
    @Test("sta then Tab lists start and stats; star then Tab completes to 'start ' with a space after it")
    func completesCommand() {
        withREPL { session, _ in
            #expect(session.waitForPrompt().ok)
            session.type("sta")
            session.press("Tab")
            let listed = session.waitFor { $0.contains("start  stats") && lastLine($0) == "berth> sta" }
            #expect(listed.ok, "screen:\n\(listed.screen)")
            session.type("r")
            session.press("Tab")
            session.type("|")
            let result = session.waitFor { lastLine($0) == "berth> start |" }
            #expect(result.ok, "screen:\n\(result.screen)")
        }
    }

    @Test("im then Tab lists images and import under the line and keeps the line")
    func listsCandidates() {
        withREPL { session, _ in
            #expect(session.waitForPrompt().ok)
            session.type("im")
            session.press("Tab")
            let result = session.waitFor { screen in
                let lines = screen.split(separator: "\n")
                guard
                    let list = lines.firstIndex(where: {
                        $0.contains("images") && $0.contains("import")
                            && !$0.contains("berth>")
                    })
                else { return false }
                return lines[(list + 1)...].contains { $0.hasPrefix("berth> im") }
            }
            #expect(result.ok, "screen:\n\(result.screen)")
        }
    }

    @Test("Ctrl-C drops a half-typed line, shows a new prompt, and the REPL still answers")
    func ctrlCCancels() {
        withREPL { session, _ in
            #expect(session.waitForPrompt().ok)
            session.type("run busy")
            session.press("C-c")
            let cancelled = session.waitFor { $0.contains("berth> run busy^C") && lastLine($0) == "berth>" }
            #expect(cancelled.ok, "screen:\n\(cancelled.screen)")
            #expect(session.isRunning)
            session.type("help start")
            session.press("Enter")
            let answered = session.waitFor { $0.contains("Usage:  berth start") && lastLine($0) == "berth>" }
            #expect(answered.ok, "screen:\n\(answered.screen)")
            #expect(!answered.screen.contains("Error"), "the cancelled line must not run")
        }
    }

    @Test("Ctrl-C stops a running loop and a following logs -f, back at the prompt with $? = 130")
    func ctrlCStopsCommands() {
        withREPL { session, dir in
            importBusybox(dir + "/store")
            #expect(session.waitForPrompt().ok)
            session.type("n = 0; while [ 1 -eq 1 ] { n = x }")
            session.press("Enter")
            usleep(300_000)
            #expect(lastLine(session.screen()) != "berth>", "the loop runs")
            session.press("C-c")
            #expect(session.waitForPrompt().ok, "the loop stopped")
            session.type("echo status $?")
            session.press("Enter")
            let loop = session.waitFor { $0.contains("status 130") && lastLine($0) == "berth>" }
            #expect(loop.ok, "screen:\n\(loop.screen)")

            session.type("run -d --name talker busybox sh -c 'while true; do echo tick; sleep 0.2; done'")
            session.press("Enter")
            #expect(session.waitForPrompt().ok)
            session.type("logs -f talker")
            session.press("Enter")
            #expect(session.waitFor { $0.contains("tick\ntick") }.ok, "logs -f follows")
            session.press("C-c")
            #expect(session.waitFor { lastLine($0) == "berth>" }.ok, "logs -f stopped")
            session.type("echo after $?; ps --format '{{.Names}} {{.State}}'")
            session.press("Enter")
            let after = session.waitFor { $0.contains("after 130") && $0.contains("talker running") }
            #expect(after.ok, "the container keeps running; screen:\n\(after.screen)")
            #expect(session.isRunning)
            berth(dir + "/store", "rm", "-f", "talker")
        }
    }

    @Test("history persists: Up in a second REPL recalls the first one's line")
    func historyPersists() {
        withREPL { session, dir in
            #expect(session.waitForPrompt().ok)
            session.type("help rmi")
            session.press("Enter")
            #expect(session.waitFor { $0.contains("Usage:  berth rmi") && lastLine($0) == "berth>" }.ok)
            session.press("C-d")
            #expect(session.waitFor { _ in !session.isRunning }.ok)
            #expect(readFile(dir + "/history").contains("rmi"))

            session.start()
            #expect(session.waitForPrompt().ok)
            session.press("Up")
            let recalled = session.waitFor { lastLine($0) == "berth> help rmi" }
            #expect(recalled.ok, "screen:\n\(recalled.screen)")
        }
    }

    @Test("Ctrl-D on an empty line exits the REPL")
    func ctrlDExits() {
        withREPL { session, _ in
            #expect(session.waitForPrompt().ok)
            session.press("C-d")
            let gone = session.waitFor { _ in !session.isRunning }
            #expect(gone.ok, "still running; screen:\n\(gone.screen)")
        }
    }

    @Test("rmi bu then Tab completes an imported image to busybox:latest")
    func completesImage() {
        withREPL { session, dir in
            // A tiny rootfs tarball, imported before the REPL starts.
            let rootfs = dir + "/rootfs"
            sh(
                "mkdir -p \(shellQuote(rootfs))/bin && echo hi > \(shellQuote(rootfs))/bin/hello"
                    + " && tar -C \(shellQuote(rootfs)) -cf \(shellQuote(dir))/busybox.tar .")
            session.kill()  // restart after the import, so the store is read fresh
            let imported = runProcess([
                replBinary, "--root", dir + "/store", "import", dir + "/busybox.tar",
                "busybox:latest",
            ])
            #expect(imported.status == 0, "import failed: \(imported.stderr)")
            session.start()
            #expect(session.waitForPrompt().ok)
            session.type("rmi bu")
            session.press("Tab")
            session.type("|")
            let result = session.waitFor { lastLine($0) == "berth> rmi busybox:latest |" }
            #expect(result.ok, "screen:\n\(result.screen)")
        }
    }

    @Test("a block typed over several lines waits with ... and runs when closed")
    func multiLineBlock() {
        withREPL { session, _ in
            #expect(session.waitForPrompt().ok)
            session.type("for w in [one two] {")
            session.press("Enter")
            #expect(session.waitFor { lastLine($0) == "..." }.ok, "continuation prompt")
            session.type("echo \"word $w\"")
            session.press("Enter")
            session.type("}")
            session.press("Enter")
            let ran = session.waitFor { $0.contains("word one\nword two") && lastLine($0) == "berth>" }
            #expect(ran.ok, "screen:\n\(ran.screen)")

        }
    }

    @Test("a function defined in the REPL shows in help and completes with Tab")
    func functionCompletes() {
        withREPL { session, _ in
            #expect(session.waitForPrompt().ok)
            session.type("fn greet_user(who) {")
            session.press("Enter")
            session.type("echo \"hello $who\"")
            session.press("Enter")
            session.type("}")
            session.press("Enter")
            #expect(session.waitForPrompt().ok)
            // The whole command list is longer than the pane; ask for the function's own entry.
            session.type("help greet_user")
            session.press("Enter")
            let help = session.waitFor { $0.contains("berth greet_user") && $0.contains("Script function (repl:1)") }
            #expect(help.ok, "screen:\n\(help.screen)")
            session.press("C-l")
            session.type("greet_u")
            session.press("Tab")
            session.type("|")
            let completed = session.waitFor { lastLine($0) == "berth> greet_user |" }
            #expect(completed.ok, "screen:\n\(completed.screen)")
            session.press("BSpace")
            session.type("world")
            session.press("Enter")
            let ran = session.waitFor { $0.contains("hello world") && lastLine($0) == "berth>" }
            #expect(ran.ok, "screen:\n\(ran.screen)")
        }
    }

    @Test("build's flags and Dockerfile paths complete with Tab")
    func completesBuild() {
        withREPL { session, dir in
            _ = sh("mkdir -p \(dir)/app && touch \(dir)/app/Dockerfile.dev")
            #expect(session.waitForPrompt().ok)
            session.type("build --no-c")
            session.press("Tab")
            session.type("|")
            let flag = session.waitFor { lastLine($0) == "berth> build --no-cache |" }
            #expect(flag.ok, "screen:\n\(flag.screen)")
            session.press("BSpace", "BSpace")
            // Typed with its leading blank: a word starting with - would be read as a tmux flag.
            session.type(" -f \(dir)/app/Dockerf")
            session.press("Tab")
            session.type("|")
            let path = session.waitFor { lastLine($0).hasSuffix("\(dir)/app/Dockerfile.dev |") }
            #expect(path.ok, "screen:\n\(path.screen)")
        }
    }
}

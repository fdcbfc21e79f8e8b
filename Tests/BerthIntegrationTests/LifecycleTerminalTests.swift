import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A berth REPL on a store, in a detached tmux session with its own server
/// socket: a real pty whose size tmux controls, keys typed as a user would.
private final class Pane {
    let socket = "berth-life-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    init(root: String) {
        tmux([
            "new-session", "-d", "-x", "120", "-y", "40",
            "exec env BERTH_HISTORY=/dev/null \(shellQuote(berthBinary)) --root \(shellQuote(root))",
        ])
    }

    func type(_ text: String) { tmux(["send-keys", "-t", "0", "-l", text]) }
    func press(_ keys: String...) { tmux(["send-keys", "-t", "0"] + keys) }
    /// Types a line and presses Enter.
    func enter(_ text: String) { type(text); press("Enter") }
    func screen() -> String { tmux(["capture-pane", "-p", "-t", "0"]).stdout }

    /// rows and columns of the pane, as tmux reports them.
    func size() -> String { tmux(["display-message", "-p", "-t", "0", "#{pane_height} #{pane_width}"]).stdout }

    func resize(columns: Int, rows: Int) {
        tmux(["resize-window", "-t", "0", "-x", String(columns), "-y", String(rows)])
    }

    @discardableResult
    func waitFor(_ seconds: Double = 10, _ condition: (String) -> Bool) -> (ok: Bool, screen: String) {
        pollScreen(seconds, screen, condition)
    }

    /// Waits until the last non-blank line ends with `suffix` (a prompt).
    @discardableResult
    func waitForPrompt(_ suffix: String, _ seconds: Double = 10) -> (ok: Bool, screen: String) {
        waitFor(seconds) { lastLine($0).hasSuffix(suffix) }
    }

    func kill() { killTmuxServer(socket) }

    @discardableResult
    private func tmux(_ args: [String]) -> ProcessResult {
        runProcess(["tmux", "-L", socket] + args, environment: ["HOME": "/tmp", "TERM": "xterm-256color"])
    }
}

private func lastLine(_ screen: String) -> String {
    let lines = screen.split(separator: "\n").map { String($0.reversed().drop { $0 == " " }.reversed()) }
    return lines.last { !$0.isEmpty } ?? ""
}

/// How many times `text` occurs on the screen.
private func count(_ text: String, in screen: String) -> Int {
    screen.split(separator: text, omittingEmptySubsequences: false).count - 1
}

@Suite("LifecycleTerminal", .serialized, .enabled(if: isRoot, "needs root for containers"))
struct LifecycleTerminalTests {
    @Test(
        "run -it in the REPL: prompt, tty, window size and resize, Ctrl-C, detach, start -ai, exit",
        arguments: isolationBackends)
    func interactiveShell(isolation: String) {
        withStore { s in
            let pane = Pane(root: s.root)
            defer { pane.kill() }
            #expect(pane.waitForPrompt("berth>").ok, "the REPL starts")

            pane.enter("run -it --name box --isolation \(isolation) busybox sh")
            var seen = pane.waitForPrompt("/ #")
            #expect(seen.ok, "a shell prompt; screen:\n\(seen.screen)")
            s.note(s.inspect("box", "{{.Id}}"))

            if isolation == "namespaces" {
                // The pty is opened on the container's own devpts.
                pane.enter("tty")
                seen = pane.waitFor { $0.contains("\n/dev/pts/0\n") && lastLine($0) == "/ #" }
                #expect(seen.ok, "tty inside; screen:\n\(seen.screen)")
            }

            let size = pane.size()
            #expect(size == "40 120\n" || size == "39 120\n", "pane size \(size)")
            pane.enter("stty size")
            seen = pane.waitFor { $0.contains("\n" + size) && lastLine($0) == "/ #" }
            #expect(seen.ok, "stty size inside matches the pane (\(size)); screen:\n\(seen.screen)")

            pane.resize(columns: 90, rows: 25)
            let resized = pane.size()
            #expect(resized != size, "tmux resized the pane: \(resized)")
            pane.press("C-l")  // clear, so the old answer cannot match
            pane.enter("stty size")
            seen = pane.waitFor { $0.contains("\n" + resized) && lastLine($0) == "/ #" }
            #expect(seen.ok, "stty size follows the resize (\(resized)); screen:\n\(seen.screen)")

            // Ctrl-C reaches the foreground job inside, not the container.
            pane.press("C-l")
            pane.enter("sleep 100")
            #expect(pane.waitFor { $0.contains("sleep 100") }.ok)
            usleep(300_000)
            let interrupted = now()
            pane.press("C-c")
            seen = pane.waitForPrompt("/ #", 5)
            #expect(seen.ok && now() - interrupted < 5, "Ctrl-C ended sleep 100; screen:\n\(seen.screen)")
            #expect(s.status("box")?.hasPrefix("Up ") == true, "the container keeps running: \(s.ps())")

            // Ctrl-P Ctrl-Q detaches; the container runs on.
            pane.press("C-p", "C-q")
            seen = pane.waitFor { lastLine($0) == "berth>" }
            #expect(seen.ok, "detached to the REPL, its prompt on a line of its own; screen:\n\(seen.screen)")
            pane.press("C-l")
            pane.enter("ps")
            seen = pane.waitFor { screen in
                screen.contains("CONTAINER ID")
                    && screen.split(separator: "\n").contains {
                        $0.contains("box") && $0.contains(" Up ")
                    } && lastLine(screen) == "berth>"
            }
            #expect(seen.ok, "ps in the REPL shows box Up; screen:\n\(seen.screen)")

            // Stopped, then started again attached: a prompt again.
            #expect(s.berth("stop", "-t", "1", "box").status == 0)
            #expect(s.status("box")?.hasPrefix("Exited") == true)
            pane.press("C-l")
            pane.enter("start -ai box")
            seen = pane.waitForPrompt("/ #")
            #expect(seen.ok, "start -ai gives a shell prompt; screen:\n\(seen.screen)")
            pane.enter("echo in-container-$((6*7))")
            seen = pane.waitFor { $0.contains("in-container-42") && lastLine($0) == "/ #" }
            #expect(seen.ok, "the shell answers; screen:\n\(seen.screen)")

            // exit ends the container and gives the REPL back, terminal restored.
            pane.enter("exit")
            seen = pane.waitForPrompt("berth>")
            #expect(seen.ok, "back at the REPL; screen:\n\(seen.screen)")
            #expect(eventually(5) { s.status("box").map(timeless) == "Exited (0) T ago" }, "\(s.ps())")
            pane.press("C-l")
            pane.enter("images")
            seen = pane.waitFor { $0.contains("berth> images\n") && $0.contains("REPOSITORY") && lastLine($0) == "berth>" }
            #expect(seen.ok, "the REPL echoes and runs a command; screen:\n\(seen.screen)")
            #expect(count("berth>", in: seen.screen) == 2, "no stray prompts; screen:\n\(seen.screen)")
        }
    }
}

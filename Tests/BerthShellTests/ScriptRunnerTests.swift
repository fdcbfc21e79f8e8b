import Testing
import BerthCore
@testable import BerthShell

/// Records what the script ran and what it reported.
private final class Recorder {
    var ran: [[String]] = []
    var errors = ""
}

private func runScript(
    _ source: String, name: String = "build.berth",
    failOn: String? = nil, throwOn: String? = nil
) -> (Int32, Recorder) {
    let recorder = Recorder()
    let runner = ScriptRunner(
        registry: PluginRegistry(),
        execute: { (words: [String]) throws(BerthError) -> Int32 in
            recorder.ran.append(words)
            if words.first == throwOn { throw BerthError("no such image: nope:latest", exitCode: 125) }
            return words.first == failOn ? 3 : 0
        }, errorOutput: { recorder.errors += $0 })
    return (runner.run(source: source, name: name), recorder)
}

@Suite("ScriptRunner")
struct ScriptRunnerTests {
    @Test("comments and blank lines are skipped, every command runs in order")
    func runsAll() {
        let (status, rec) = runScript("# setup\n\nimages\n  # indented comment\nrmi a b # trailing\n")
        #expect(status == 0)
        #expect(rec.ran == [["images"], ["rmi", "a", "b"]])
        #expect(rec.errors == "")
    }

    @Test("a failing command stops the script with FILE:LINE and its exit code")
    func stopsAtFailure() {
        let (status, rec) = runScript("images\n\nrun busybox\nrmi busybox\n", failOn: "run")
        #expect(status == 3)
        #expect(rec.ran == [["images"], ["run", "busybox"]])
        #expect(rec.errors == "build.berth:3: error: \"run busybox\" exited with status 3\n")
    }

    @Test("an error thrown by a command is reported with its line, stdin named -")
    func thrownError() {
        let (status, rec) = runScript("images\nrmi nope\nimages\n", name: "-", throwOn: "rmi")
        #expect(status == 125)
        #expect(rec.ran.count == 2)
        #expect(rec.errors == "-:2: error: no such image: nope:latest\n")
    }

    @Test("a backslash at the end of a line continues the command")
    func continuation() {
        let (status, rec) = runScript("run --name web \\\n    busybox \\\n    sh\nimages\n", failOn: "images")
        #expect(status == 3)
        #expect(rec.ran == [["run", "--name", "web", "busybox", "sh"], ["images"]])
        #expect(rec.errors.hasPrefix("build.berth:4: error:"))
    }

    @Test("an unterminated quote stops the script before anything runs, at its line and column")
    func badQuote() {
        let (status, rec) = runScript("images\nrun \"busybox\nimages\n")
        #expect(status == 125)
        #expect(rec.ran.isEmpty, "a syntax error anywhere stops the script before its first command")
        #expect(rec.errors == "build.berth:2:5: error: unterminated double quote\n")
    }

    @Test("exit ends the script with its status")
    func exitStatus() {
        let (status, rec) = runScript("images\nexit 4\nimages\n")
        #expect(status == 4)
        #expect(rec.ran == [["images"]])
    }
}

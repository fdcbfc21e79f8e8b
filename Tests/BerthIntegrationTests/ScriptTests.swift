import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The example scripts in docs/examples, run as a user would: from a file
/// and from a pipe, against a temporary store.
@Suite("Scripts", .serialized, .enabled(if: isRoot, "needs root for containers"))
struct ScriptTests {
    private let examples = packageRoot + "/docs/examples"

    /// A store with busybox, a temp dir for the script's files, and cleanup
    /// of every container the script left.
    private func withStore(_ body: (String, String) throws -> Void) rethrows {
        let dir = makeTempDirectory("script")
        let root = dir + "/store"
        defer {
            for id in berth(root, "ps", "-aq").stdout.split(separator: "\n") {
                berth(root, "rm", "-f", String(id))
            }
            #expect(mounts(under: root).isEmpty, "no mount left under the store")
            removeTree(dir)
        }
        importBusybox(root)
        try body(root, dir)
    }

    @Test("the tutorial runs unattended from berth FILE")
    func tutorialFromFile() {
        withStore { root, dir in
            let result = runProcess(
                [berthBinary, "--root", root, examples + "/tutorial.berth"],
                environment: ["TMPDIR": dir])
            #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            #expect(result.stdout.contains("busybox is paused"))
            #expect(result.stdout.contains("the imported image kept the file: migrated"))
            #expect(result.stdout.hasSuffix("tutorial done\n"))
            #expect(result.stderr.contains("You cannot remove a running container"), "rm refused, reported, not fatal")
        }
    }

    @Test("the tutorial runs unattended from a pipe")
    func tutorialFromPipe() {
        withStore { root, dir in
            let result = runProcess(
                [
                    "/bin/sh", "-c",
                    "cd \(shellQuote(examples)) && exec \(shellQuote(berthBinary)) "
                        + "--root \(shellQuote(root)) < tutorial.berth",
                ],
                environment: ["TMPDIR": dir])
            #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            #expect(result.stdout.hasSuffix("tutorial done\n"))
        }
    }

    @Test("a failing step stops the script with its file and line")
    func failingStep() throws {
        try withStore { root, dir in
            // The tutorial with pause replaced by a step that fails.
            var lines = readFile(examples + "/tutorial.berth").split(separator: "\n", omittingEmptySubsequences: false)
                .map(String.init)
            let pause = try #require(lines.firstIndex(of: "pause busybox"))
            lines[pause] = "pause nosuch"
            let script = dir + "/broken.berth"
            writeFile(script, lines.joined(separator: "\n"))
            writeFile(dir + "/functions.berth", readFile(examples + "/functions.berth"))
            let result = runProcess([berthBinary, "--root", root, script], environment: ["TMPDIR": dir])
            #expect(result.status == 1, "the failing step's own code: Docker's pause of a missing container exits 1")
            #expect(result.stderr.contains("\(script):\(pause + 1): error: "), "stderr: \(result.stderr)")
            #expect(!result.stdout.contains("tutorial done"))

            berth(root, "rm", "-f", "busybox")  // what the stopped run left
            let piped = runProcess(
                [
                    "/bin/sh", "-c",
                    "cd \(shellQuote(dir)) && exec \(shellQuote(berthBinary)) "
                        + "--root \(shellQuote(root)) < broken.berth",
                ], environment: ["TMPDIR": dir])
            #expect(piped.status == 1)
            #expect(piped.stderr.contains("-:\(pause + 1): error: "), "stderr: \(piped.stderr)")
        }
    }

    @Test("a syntax error names file, line and column before anything runs")
    func syntaxError() {
        withStore { root, dir in
            let script = dir + "/bad.berth"
            writeFile(script, "create --name early busybox\nif true {\n  echo \"open\n}\n")
            let result = berth(root, script)
            #expect(result.status == 125)
            #expect(result.stderr == "\(script):3:8: error: unterminated double quote\n")
            #expect(berth(root, "ps", "-aq").stdout.isEmpty, "nothing ran")
        }
    }

    @Test("the experiment sources the function library and uses its functions")
    func experiment() {
        withStore { root, _ in
            let result = berth(root, examples + "/experiment.berth")
            #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            #expect(result.stdout.contains("exp-copy-1 "))
            #expect(result.stdout.hasSuffix("experiment done\n"))
            #expect(berth(root, "ps", "-aq").stdout.isEmpty, "cleanup from functions.berth removed them")
        }
    }

    @Test("functions from a sourced library show in help with their origin")
    func functionsInHelp() {
        withStore { root, dir in
            let script = dir + "/help.berth"
            writeFile(script, "source \(examples)/functions.berth\nhelp\nplugin ls --kind command\nhelp fresh\n")
            let result = berth(root, script)
            #expect(result.status == 0, "stderr: \(result.stderr)")
            #expect(result.stdout.contains("fresh "))
            #expect(result.stdout.contains("script \(examples)/functions.berth:"))
            #expect(result.stdout.contains("Usage:  berth fresh NAME IMAGE"))
        }
    }
}

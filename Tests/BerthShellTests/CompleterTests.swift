#if canImport(Glibc)
import Glibc
#endif
import Testing
import BerthCore
@testable import BerthShell

/// A command that only declares itself.
private struct FakeCommand: Command {
    let spec: CommandSpec
    func run(_ args: ParsedArguments, _ context: CommandContext) throws(BerthError) -> Int32 { 0 }
}

/// A store with three images and one container in each state.
private struct FakeSource: CompletionSource {
    func imageNames() -> [String] { ["busybox:latest", "alpine:3.19", "3f1a2b4c5d6e"] }
    func containerNames(states: Set<String>?) -> [String] {
        let all = [("web", "running"), ("db", "exited"), ("fresh", "created"), ("frozen", "paused")]
        return all.filter { states?.contains($0.1) ?? true }.map(\.0)
    }
}

private func fakeRegistry() -> PluginRegistry {
    let registry = PluginRegistry()
    let specs = [
        CommandSpec(
            "start", summary: "Start containers",
            arguments: [ArgSpec("CONTAINER", completion: .containers(["created", "exited"]), repeats: true)]),
        CommandSpec(
            "unpause", summary: "Unpause containers",
            arguments: [ArgSpec("CONTAINER", completion: .containers(["paused"]), repeats: true)]),
        CommandSpec(
            "images", aliases: ["image ls"], summary: "List images",
            flags: [FlagSpec("quiet", short: "q", help: "IDs only")]),
        CommandSpec(
            "import", summary: "Import a tarball",
            arguments: [ArgSpec("FILE", completion: .files), ArgSpec("REPOSITORY[:TAG]", optional: true)]),
        CommandSpec(
            "rmi", summary: "Remove images",
            flags: [FlagSpec("force", short: "f", help: "Force")],
            arguments: [ArgSpec("IMAGE", completion: .images, repeats: true)]),
        CommandSpec(
            "run", summary: "Run a container",
            flags: [
                FlagSpec("name", value: "string", help: "Name"),
                FlagSpec("interactive", short: "i", help: "Keep stdin open"),
                FlagSpec("tty", short: "t", help: "Terminal"),
                FlagSpec(
                    "storage-driver", short: "s", value: "string", help: "Driver",
                    completion: .words(["copy", "overlay"])),
            ],
            arguments: [ArgSpec("IMAGE", completion: .images), ArgSpec("COMMAND", optional: true)],
            interspersed: false),
        CommandSpec("plugin ls", summary: "List plugins"),
        CommandSpec(
            "plugin inspect", summary: "Show a plugin",
            arguments: [ArgSpec("PLUGIN", completion: .plugins)]),
    ]
    for spec in specs { registry.register(.command({ FakeCommand(spec: spec) })) }
    return registry
}

private func complete(_ text: String, cwd: String? = nil, home: String? = nil) -> CompletionResult {
    let completer = Completer(
        registry: fakeRegistry(), source: FakeSource(), builtins: ShellBuiltins.specs,
        currentDirectory: cwd, home: home)
    return completer.complete(text)
}

@Suite("Completer")
struct CompleterTests {
    @Test("sta completes to start")
    func commandName() {
        let result = complete("sta")
        #expect(result.candidates == ["start"])
        #expect(result.word == "sta")
        #expect(result.wordStart == 0)
    }

    @Test("im offers images and import (and the image group)")
    func ambiguousCommand() {
        #expect(complete("im").candidates == ["image", "images", "import"])
    }

    @Test("the first word offers group words and the shell's own words")
    func firstWords() {
        let all = complete("").candidates
        #expect(all.contains("plugin"))
        #expect(all.contains("help"))
        #expect(all.contains("exit"))
        #expect(!all.contains("plugin ls"))
    }

    @Test("rmi bu completes to busybox:latest")
    func imageName() {
        let result = complete("rmi bu")
        #expect(result.candidates == ["busybox:latest"])
        #expect(result.wordStart == 4)
    }

    @Test("rmi keeps completing images after the first, skipping flags")
    func repeatingArgument() {
        #expect(complete("rmi -f busybox:latest al").candidates == ["alpine:3.19"])
    }

    @Test("start offers only created and exited containers")
    func startStates() {
        #expect(complete("start ").candidates == ["db", "fresh"])
    }

    @Test("unpause offers only paused containers")
    func unpauseStates() {
        #expect(complete("unpause ").candidates == ["frozen"])
    }

    @Test("run --na completes to --name")
    func longFlag() {
        #expect(complete("run --na").candidates == ["--name"])
    }

    @Test("a dash offers long and short flags plus --help")
    func allFlags() {
        #expect(complete("rmi -").candidates == ["--force", "--help", "-f"])
    }

    @Test("the word after a value flag completes that flag's values")
    func flagValue() {
        #expect(complete("run -s ").candidates == ["copy", "overlay"])
        #expect(complete("run --storage-driver o").candidates == ["overlay"])
        #expect(complete("run --storage-driver=o").candidates == ["--storage-driver=overlay"])
        #expect(complete("run --name x bu").candidates == ["busybox:latest"])
    }

    @Test("after run's image, flags belong to the container command")
    func notInterspersed() {
        #expect(complete("run busybox:latest --").candidates == [])
        #expect(complete("run -it --").candidates.contains("--name"))
    }

    @Test("plugin offers its subcommands")
    func group() {
        #expect(complete("plugin ").candidates == ["inspect", "ls"])
        #expect(complete("plugin l").candidates == ["ls"])
    }

    @Test("help completes command names")
    func helpCommands() {
        #expect(complete("help st").candidates == ["start"])
    }

    @Test("an image inside an open double quote still completes")
    func openQuote() {
        let result = complete(#"rmi "bu"#)
        #expect(result.candidates == ["busybox:latest"])
        #expect(result.openQuote == .double)
        #expect(result.wordStart == 4)
    }

    @Test("nothing is offered inside a comment or for an unknown command")
    func nothing() {
        #expect(complete("images # st").candidates == [])
        #expect(complete("frobnicate ").candidates == [])
    }

    @Test("paths complete from the working directory, directories end in /")
    func paths() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        dir.touch("busybox.tar")
        dir.touch("busybox.tar.gz")
        dir.mkdir("builds")
        dir.touch("builds/x.tar")
        dir.touch(".hidden")
        #expect(complete("import bu", cwd: dir.path).candidates == ["builds/", "busybox.tar", "busybox.tar.gz"])
        #expect(complete("import busybox.tar.", cwd: dir.path).candidates == ["busybox.tar.gz"])
        #expect(complete("import builds/", cwd: dir.path).candidates == ["builds/x.tar"])
        #expect(complete("import ", cwd: dir.path).candidates == ["builds/", "busybox.tar", "busybox.tar.gz"])
        #expect(complete("import .h", cwd: dir.path).candidates == [".hidden"])
        #expect(complete("import \(dir.path)/bui").candidates == ["\(dir.path)/builds/"])
        #expect(complete("import bu", cwd: dir.path).isPath)
    }

    @Test("~ in a path is expanded to the home directory")
    func tilde() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        dir.touch("notes.tar")
        #expect(complete("import ~/no", home: dir.path).candidates == ["\(dir.path)/notes.tar"])
    }

    @Test("the common prefix and the names listed under the line")
    func prefixAndDisplay() {
        let result = CompletionResult(
            word: "b", wordStart: 0, candidates: ["dir/busybox.tar", "dir/busybox.tgz", "dir/bin/"],
            isPath: true)
        #expect(result.commonPrefix == "dir/b")
        #expect(result.displayNames == ["busybox.tar", "busybox.tgz", "bin/"])
    }

    @Test("candidates are laid out in columns down, then across")
    func columns() {
        #expect(LineEditor.columns(["a", "bb", "c", "d", "e"], width: 12) == "a   c   e\nbb  d\n")
        #expect(LineEditor.columns(["images", "import"], width: 80) == "images  import\n")
    }
}

/// A temporary directory removed by the test.
struct TempDir {
    let path: String
    init() throws {
        var template = Array("/tmp/berth-shell-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
    func touch(_ name: String, _ text: String = "") {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }
    func mkdir(_ name: String) { _ = Glibc.mkdir(path + "/" + name, 0o755) }
    func remove() { _ = system("rm -rf '\(path)'") }
}

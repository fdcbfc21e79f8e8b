import Testing
import BerthCore

/// Typed flag keys as a command declares them: once, then read through the same value.
private enum Keys {
    static let detach = Flag.bool("detach", short: "d", help: "Run in background")
    static let sigProxy = Flag.bool("sig-proxy", help: "Proxy signals", default: true)
    static let name = Flag.string("name", help: "Assign a name")
    static let pull = Flag.string(
        "pull", help: "Pull policy", completion: .words(["always", "missing", "never"]),
        default: "missing")
    static let env = Flag.strings("env", short: "e", help: "Set environment variables")
    static let filter = Flag.strings("filter", short: "f", value: "filter", help: "Filter output")
    static let time = Flag.int("time", short: "t", help: "Seconds to wait", default: "10")
}

private let spec = CommandSpec(
    "run", summary: "Run",
    flags: [Keys.detach, Keys.sigProxy, Keys.name, Keys.pull, Keys.env, Keys.filter, Keys.time],
    arguments: [ArgSpec("IMAGE")], min: 1)

private func parse(_ words: String...) throws(BerthError) -> ParsedArguments {
    try ArgumentParser.parse(words, spec: spec)
}

@Suite("typed flag keys read what the command line gave")
struct FlagTests {
    @Test("a switch reads true when given, false when not, and its default when it has one")
    func switches() throws {
        let given = try parse("-d", "--sig-proxy=false", "busybox")
        #expect(given[Keys.detach])
        #expect(!given[Keys.sigProxy])
        let absent = try parse("busybox")
        #expect(!absent[Keys.detach])
        #expect(absent[Keys.sigProxy])
        #expect(try parse("--detach=false", "busybox")[Keys.detach] == false)
    }

    @Test("a value flag reads its last value, nil when not given, even with a default shown in help")
    func strings() throws {
        let a = try parse("--name", "web", "--name=db", "busybox")
        #expect(a[Keys.name] == "db")
        #expect(a[Keys.pull] == nil)
        #expect(try parse("--pull", "never", "busybox")[Keys.pull] == "never")
    }

    @Test("a repeatable flag reads every value in order, empty when not given")
    func lists() throws {
        let a = try parse("-e", "A=1", "--env=B=2", "-f", "status=exited", "busybox")
        #expect(a[Keys.env] == ["A=1", "B=2"])
        #expect(a[Keys.filter] == ["status=exited"])
        #expect(try parse("busybox")[Keys.env] == [])
    }

    @Test("an integer flag reads its number; a bad one is the usage error naming the flag")
    func integers() throws {
        #expect(try parse("-t", "3", "busybox").value(Keys.time) == 3)
        #expect(try parse("busybox").value(Keys.time) == nil)
        let bad = try parse("--time", "soon", "busybox")
        var caught: BerthError?
        do { _ = try bad.value(Keys.time) } catch { caught = error }
        #expect(caught?.kind == .usage)
        #expect(caught?.exitCode == 125)
        #expect(caught?.message == "invalid argument \"soon\" for \"--time\" flag: expected an integer")
    }

    @Test("whether a flag was given, whatever its kind")
    func given() throws {
        let a = try parse("--name", "", "--detach=false", "busybox")
        #expect(a.isSet(Keys.name) && a.isSet(Keys.detach))
        #expect(!a.isSet(Keys.time) && !a.isSet(Keys.env))
    }

    @Test("the command's spec carries each key's declaration, for parsing, help and completion")
    func declarations() {
        #expect(spec.flags.map(\.long) == ["detach", "sig-proxy", "name", "pull", "env", "filter", "time"])
        let detach = spec.flag(short: "d")
        #expect(detach?.long == "detach" && detach?.isBoolean == true && detach?.defaultValue == nil)
        #expect(spec.flag(long: "sig-proxy")?.defaultValue == "true")
        let pull = spec.flag(long: "pull")
        #expect(pull?.valueName == "string" && pull?.defaultValue == "missing")
        #expect(pull?.completion == .words(["always", "missing", "never"]))
        #expect(spec.flag(long: "env")?.valueName == "list")
        #expect(spec.flag(long: "filter")?.valueName == "filter")
        let time = spec.flag(short: "t")
        #expect(time?.valueName == "int" && time?.defaultValue == "10" && time?.help == "Seconds to wait")
        #expect(Keys.time.spec.long == "time")
    }
}

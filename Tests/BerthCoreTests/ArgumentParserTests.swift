import Testing
import BerthCore

/// The keys the commands below declare and the tests read, as commands do.
private enum Keys {
    static let name = Flag.string("name", help: "Name")
    static let interactive = Flag.bool("interactive", short: "i", help: "Keep stdin open")
    static let tty = Flag.bool("tty", short: "t", help: "A terminal")
    static let env = Flag.strings("env", short: "e", value: "list", help: "Environment")
    static let time = Flag.int("time", short: "n", help: "Seconds")
    static let force = Flag.bool("force", short: "f", help: "Force")
}

/// A command shaped like `run`: value flags, booleans, and positionals that end flag parsing.
private let runLike = CommandSpec(
    "run", summary: "Run",
    flags: [Keys.name, Keys.interactive, Keys.tty, Keys.env, Keys.time],
    arguments: [ArgSpec("IMAGE"), ArgSpec("COMMAND", optional: true)], min: 1, interspersed: false)

private let rmLike = CommandSpec(
    "rm", summary: "Remove", flags: [Keys.force],
    arguments: [ArgSpec("CONTAINER", repeats: true)], min: 1)

private func parse(_ words: String..., spec: CommandSpec = runLike) throws(BerthError) -> ParsedArguments {
    try ArgumentParser.parse(words, spec: spec)
}

private func failure(_ words: String..., spec: CommandSpec = runLike) -> BerthError? {
    do { _ = try ArgumentParser.parse(words, spec: spec) } catch { return error }
    return nil
}

@Suite("argument parsing follows Docker's pflag rules")
struct ArgumentParserTests {
    @Test("combined short flags, attached and separate values, --flag=value")
    func forms() throws {
        let a = try parse("-it", "-n5", "-e", "A=1", "--env=B=2", "--name", "web", "busybox")
        #expect(a[Keys.interactive] && a[Keys.tty])
        #expect(try a.value(Keys.time) == 5)
        #expect(a[Keys.env] == ["A=1", "B=2"])
        #expect(a[Keys.name] == "web")
        #expect(a.positionals == ["busybox"])
    }

    @Test("the first positional of run ends the flags, so the container's command keeps its own")
    func notInterspersed() throws {
        let a = try parse("busybox", "ls", "-l", "--name", "x")
        #expect(a.positionals == ["busybox", "ls", "-l", "--name", "x"])
        #expect(!a.isSet(Keys.name))
    }

    @Test("rm takes flags after its arguments too, and -- ends them")
    func interspersed() throws {
        let a = try parse("a", "-f", "b", "--", "-c", spec: rmLike)
        #expect(a[Keys.force] && a.positionals == ["a", "b", "-c"])
    }

    @Test("an unknown flag is a usage error (Docker: 125 in every command)")
    func unknownFlag() {
        let e = failure("--bogus", "busybox")
        #expect(e?.kind == .usage && e?.message.contains("unknown flag: --bogus") == true, "\(String(describing: e))")
        #expect(e?.exitCode(engine: ExitCode.general) == 125)
    }

    @Test("a missing value and a bad integer name the flag")
    func badValues() {
        #expect(failure("--name")?.message.contains("--name") == true)
        let e = failure("-n", "soon", "busybox")
        #expect(e == nil, "the parser keeps the text; reading it as an integer is what fails")
        let read: BerthError? = {
            do throws(BerthError) { _ = try parse("-n", "soon", "busybox").value(Keys.time) } catch { return error }
            return nil
        }()
        #expect(
            read?.kind == .usage && read?.message.contains("invalid argument \"soon\" for \"--time\"") == true,
            "\(String(describing: read))")
    }

    @Test("too few arguments is Docker's exit 1, not 125")
    func tooFew() {
        let e = failure(spec: rmLike)
        #expect(e?.kind == .arguments && e?.exitCode(engine: ExitCode.runEngine) == 1, "\(String(describing: e))")
        #expect(e?.message.contains("\"berth rm\" requires") == true)
    }

    @Test("--help is a request, not an error")
    func help() throws {
        #expect(try parse("--help").helpRequested)
        #expect(try parse("-i", "--help", "busybox").helpRequested)
    }

    @Test("a boolean accepts =true and =false, and refuses other words")
    func booleanValues() throws {
        #expect(try parse("--tty=false", "x")[Keys.tty] == false)
        #expect(try parse("--tty=true", "x")[Keys.tty])
        #expect(failure("--tty=maybe", "x")?.kind == .usage)
    }
}

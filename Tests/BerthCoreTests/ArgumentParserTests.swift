import Testing
import BerthCore

/// A command shaped like `run`: value flags, booleans, and positionals that end flag parsing.
private let runLike = CommandSpec(
    "run", summary: "Run",
    flags: [
        FlagSpec("name", value: "string", help: "Name"),
        FlagSpec("interactive", short: "i", help: "Keep stdin open"),
        FlagSpec("tty", short: "t", help: "A terminal"),
        FlagSpec("env", short: "e", value: "list", help: "Environment"),
        FlagSpec("time", short: "n", value: "int", help: "Seconds"),
    ],
    arguments: [ArgSpec("IMAGE"), ArgSpec("COMMAND", optional: true)], min: 1, interspersed: false)

private let rmLike = CommandSpec(
    "rm", summary: "Remove", flags: [FlagSpec("force", short: "f", help: "Force")],
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
        #expect(a.bool("interactive") && a.bool("tty"))
        #expect(try a.int("time") == 5)
        #expect(a.strings("env") == ["A=1", "B=2"])
        #expect(a.string("name") == "web")
        #expect(a.positionals == ["busybox"])
    }

    @Test("the first positional of run ends the flags, so the container's command keeps its own")
    func notInterspersed() throws {
        let a = try parse("busybox", "ls", "-l", "--name", "x")
        #expect(a.positionals == ["busybox", "ls", "-l", "--name", "x"])
        #expect(!a.isSet("name"))
    }

    @Test("rm takes flags after its arguments too, and -- ends them")
    func interspersed() throws {
        let a = try parse("a", "-f", "b", "--", "-c", spec: rmLike)
        #expect(a.bool("force") && a.positionals == ["a", "b", "-c"])
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
            do throws(BerthError) { _ = try parse("-n", "soon", "busybox").int("time") } catch { return error }
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
        #expect(try parse("--tty=false", "x").bool("tty") == false)
        #expect(try parse("--tty=true", "x").bool("tty"))
        #expect(failure("--tty=maybe", "x")?.kind == .usage)
    }
}

import Testing
import BerthCore

private struct Stub: Command {
    let spec: CommandSpec
    func run(_ args: ParsedArguments, _ context: CommandContext) throws(BerthError) -> Int32 { 0 }
}

private func registry(_ specs: CommandSpec...) -> PluginRegistry {
    let r = PluginRegistry()
    for spec in specs { r.register(.command { Stub(spec: spec) }) }
    return r
}

@Suite("the plugin registry resolves commands; help comes from the same declaration")
struct RegistryAndHelpTests {
    @Test("two-word commands and aliases win over a one-word prefix")
    func resolution() {
        let r = registry(
            CommandSpec("images", aliases: ["image ls"], summary: "List images"),
            CommandSpec("image prune", summary: "Prune"),
            CommandSpec("rm", aliases: ["container rm"], summary: "Remove"))
        let ls = r.command(for: ["image", "ls", "-a"])
        #expect(ls?.0.spec.name == "images" && ls?.1 == 2)
        #expect(r.command(for: ["image", "prune"])?.0.spec.name == "image prune")
        let rm = r.command(for: ["container", "rm", "x"])
        #expect(rm?.0.spec.name == "rm" && rm?.1 == 2)
        #expect(r.command(for: ["rm", "x"])?.1 == 1)
        #expect(r.command(for: ["bogus"]) == nil)
    }

    @Test("help shows the usage line, every flag with its short form and the default")
    func help() {
        let spec = CommandSpec(
            "stop", summary: "Stop one or more running containers",
            flags: [FlagSpec("time", short: "t", value: "int", help: "Seconds to wait", default: "10")],
            arguments: [ArgSpec("CONTAINER", repeats: true)], min: 1)
        let text = Help.render(spec)
        #expect(text.contains("Usage:  berth stop [OPTIONS] CONTAINER [CONTAINER...]"), "\(text)")
        #expect(text.contains("-t, --time int"), "\(text)")
        #expect(text.contains("Seconds to wait (default 10)"), "\(text)")
        #expect(text.contains("Stop one or more running containers"))
    }

    @Test("the overview lists every registered command")
    func overview() {
        let r = registry(CommandSpec("ps", summary: "List containers"), CommandSpec("rm", summary: "Remove"))
        let text = Help.overview(r.commands)
        #expect(text.contains("List containers") && text.contains("Remove"), "\(text)")
    }
}

@Suite("errors carry a kind; Docker's exit codes come from it in one place")
struct ErrorKindTests {
    @Test("engine failures exit 125 in run/create and 1 elsewhere; usage is 125 everywhere")
    func codes() {
        for kind in [BerthError.Kind.notFound, .conflict, .invalidState, .invalidArgument, .io, .failed] {
            #expect(kind.exitCode(engine: ExitCode.runEngine) == 125)
            #expect(kind.exitCode(engine: ExitCode.general) == 1)
        }
        #expect(BerthError.Kind.usage.exitCode(engine: ExitCode.general) == 125)
        #expect(BerthError.Kind.arguments.exitCode(engine: ExitCode.runEngine) == 1)
        #expect(BerthError.Kind.cannotInvoke.exitCode(engine: ExitCode.runEngine) == 126)
        #expect(BerthError.Kind.commandNotFound.exitCode(engine: ExitCode.runEngine) == 127)
        #expect(BerthError.Kind.commandNotFound.exitCode(engine: ExitCode.general) == 1, "start reports it as Docker's does")
        #expect(BerthError.Kind.interrupted.exitCode(engine: 1) == 130)
    }

    @Test("a settled error keeps the code of the command it came from")
    func settled() {
        let e = BerthError.notFound("No such container: x").settled(engine: ExitCode.general)
        #expect(e.exitCode == 1 && e.exitCode(engine: 125) == 1 && e.kind == .notFound)
        #expect(BerthError("fixed", exitCode: 7).exitCode(engine: 1) == 7)
    }

    @Test("a failed call keeps its errno, and EPERM/ENOENT become kinds")
    func syscall() {
        let denied = BerthError.syscall("mount", "/x", .EPERM)
        #expect(denied.kind == .permission && denied.errno == .EPERM)
        #expect(BerthError.syscall("open", "/y", .ENOENT).kind == .notFound)
        #expect(BerthError.syscall("write", "/z", .EINVAL).kind == .io)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth run`: create + start, attached unless `-d`.
struct RunCommand: Command {
    static let detach = Flag.bool("detach", short: "d", help: "Run container in background and print container ID")
    static let attach = Flag.strings(
        "attach", short: "a", help: "Attach to STDIN, STDOUT or STDERR", completion: .words(["STDIN", "STDOUT", "STDERR"]))
    static let sigProxy = Flag.bool(
        "sig-proxy", help: "Proxy received signals to the process (without -t; --sig-proxy=false: they end the client)",
        default: true)
    static let detachKeys = Flag.string(
        "detach-keys", help: "Override the key sequence for detaching a container", default: "ctrl-p,ctrl-q")

    let spec = CommandSpec(
        "run", aliases: ["container run"], summary: "Create and run a new container from an image",
        flags: ContainerFlags.create + [Self.detach, Self.attach, Self.sigProxy, Self.detachKeys],
        arguments: ContainerFlags.containerArgs, min: 1, interspersed: false, engineExitCode: ExitCode.runEngine)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        var options = try ContainerFlags.options(args)
        let detach = args[Self.detach]
        let streams = try Self.streams(args[Self.attach])
        if detach && !args[Self.attach].isEmpty { throw .usage("Conflicting options: -a and -d") }
        if !detach { try Attach.checkTTY(ctx, attachStdin: options.interactive, tty: options.tty) }
        let keys = try DetachKeys.parse(args[Self.detachKeys] ?? "ctrl-p,ctrl-q")
        let cidfile = try CIDFile.claim(args[ContainerFlags.cidfile])
        do throws(BerthError) {
            options.image = try ContainerFlags.pull(ctx, args, options.image)
        } catch {
            cidfile?.discard()
            throw error
        }
        let factory = ContainerFactory(lifecycle: lifecycle, environment: ctx.environment, warn: ctx.warn)
        let size = detach ? nil : Attach.windowSize(ctx)
        let started = try CgroupWarmup.around(environment: ctx.environment) { () throws(BerthError) -> Container in
            let container: Container
            do throws(BerthError) { container = try factory.create(options) } catch {
                cidfile?.discard()
                throw error
            }
            try cidfile?.write(container.id)
            return try startOrClean(lifecycle, container, waitAttach: !detach, windowSize: size)
        }
        // Docker prints the ID when no output stream is attached (`-d`, `-a stdin`).
        if detach || (!streams.stdout && !streams.stderr) { ctx.print(started.id) }
        if detach { return 0 }
        return try Attach.run(
            ctx, lifecycle.layout, started, stdin: options.interactive, detachKeys: keys, sigProxy: args[Self.sigProxy],
            output: streams)
    }

    /// `-a/--attach`: which output streams are shown (stdout and stderr when
    /// none is named, as Docker); `stdin` is attached with `-i` either way.
    static func streams(_ values: [String]) throws(BerthError) -> Attach.Streams {
        for v in values where !["stdin", "stdout", "stderr"].contains(v.lowercased()) {
            throw .usage("invalid argument \"\(v)\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR")
        }
        if values.isEmpty { return Attach.Streams() }
        let named = Set(values.map { $0.lowercased() })
        return Attach.Streams(stdout: named.contains("stdout"), stderr: named.contains("stderr"))
    }

    /// A `--rm` container that fails to start is removed, as Docker does.
    @discardableResult
    private func startOrClean(
        _ lifecycle: Lifecycle, _ c: Container, waitAttach: Bool,
        windowSize: WindowSize?
    ) throws(BerthError) -> Container {
        do {
            return try lifecycle.start(created: c, waitAttach: waitAttach, windowSize: windowSize)
        } catch {
            if c.autoRemove { try? lifecycle.remove(c.id, force: true) }
            throw error
        }
    }
}

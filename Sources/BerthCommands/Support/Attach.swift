#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// Attaches the caller's terminal or streams to a started container.
enum Attach {
    /// Docker's refusal of a tty with attached stdin when stdin is not a
    /// terminal (`echo hi | run -it …`): there would be no raw mode, so no
    /// Ctrl-C, Ctrl-D or detach keys, and a pipe's end never reaches a pty.
    /// Exit 1, before anything is created or started.
    static func checkTTY(_ ctx: CommandContext, attachStdin: Bool, tty: Bool) throws(BerthError) {
        if attachStdin && tty && isatty(ctx.stdin.rawValue) != 1 {
            throw BerthError("the input device is not a TTY", exitCode: 1)
        }
    }

    /// The caller's terminal size, which a tty container starts with.
    static func windowSize(_ ctx: CommandContext) -> WindowSize? {
        WindowSize.of(ctx.stdin.rawValue) ?? WindowSize.of(ctx.stdout.rawValue)
    }

    /// The output streams a client shows (`run -a`).
    struct Streams {
        var stdout = true
        var stderr = true
    }

    static func run(
        _ ctx: CommandContext, _ layout: StoreLayout, _ container: Container, stdin: Bool,
        detachKeys: [UInt8] = [0x10, 0x11], sigProxy: Bool = true, output: Streams = Streams()
    ) throws(BerthError) -> Int32 {
        let socket = try AttachClient.connect(containerDirectory: layout.container(container.id))
        defer { close(socket) }
        var client = AttachClient(socket: socket, sendStdin: stdin, tty: container.tty)
        client.stdin = ctx.stdin.rawValue
        client.stdout = ctx.stdout.rawValue
        client.stderr = ctx.stderr.rawValue
        client.detachKeys = detachKeys
        client.showStdout = output.stdout
        client.showStderr = output.stderr
        if !container.tty && sigProxy { client.signalTarget = container.state.pid }
        switch client.run() {
        case .exited(let code): return code
        case .detached:
            // The container's prompt is still on the screen, cursor after it:
            // the caller's prompt (the REPL's or the shell's) goes on a line of its own.
            if container.tty && ctx.stdoutIsTerminal { ctx.printRaw("\n") }
            return 0
        case .failed(let code, let message): throw .startFailure(code: code, message: message)
        case .interrupted(let signal):
            // Without --sig-proxy, Ctrl-C or SIGTERM leaves the attach (the container runs on).
            if container.tty && ctx.stdoutIsTerminal { ctx.printRaw("\n") }
            return 128 + signal
        case .lost: throw BerthError("lost the connection to the monitor of \(container.name); check 'berth ps -a'")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthEngine

/// `berth login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]`.
struct LoginCommand: Command {
    static let username = Flag.string("username", short: "u", help: "Username")
    static let password = Flag.string("password", short: "p", help: "Password")
    static let passwordStdin = Flag.bool("password-stdin", help: "Take the password from stdin")

    let spec = CommandSpec(
        "login", summary: "Log in to a registry",
        flags: [Self.username, Self.password, Self.passwordStdin, RegistryFlags.tlsVerify],
        arguments: [ArgSpec("SERVER", optional: true)], min: 0, max: 1,
        details:
            "The login is checked against the registry, then stored in ROOT/auth.json (mode 0600).\nThe default server is docker.io."
    )

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let server = AuthStore.key(args.positionals.first ?? "docker.io")
        var username = args[Self.username]
        var password = args[Self.password]
        if args[Self.passwordStdin] {
            guard password == nil else { throw BerthError("--password and --password-stdin are mutually exclusive") }
            guard username != nil else { throw BerthError("must provide --username with --password-stdin") }
            let bytes = (try? ctx.stdin.readAll()) ?? []
            var text = String(decoding: bytes, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            password = text
        } else if password != nil {
            ctx.warn("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
        }
        let layout = try ctx.openStore()
        let auths = AuthStore(layout: layout)
        let stored = auths.credentials(for: server)
        if username == nil || password == nil {
            guard isatty(ctx.stdin.rawValue) == 1 else {
                throw BerthError(
                    "cannot perform an interactive login from a non-TTY device; use -u USER with -p or --password-stdin")
            }
            if username == nil {
                try? ctx.stdout.write("Username" + (stored.map { " (\($0.username))" } ?? "") + ": ")
                let line = Self.readLine(ctx.stdin, echo: true)
                username = line.isEmpty ? stored?.username : line
            }
            if password == nil {
                try? ctx.stdout.write("Password: ")
                password = Self.readLine(ctx.stdin, echo: false)
                ctx.print("")
            }
        }
        guard let user = username, !user.isEmpty else { throw BerthError("Error: Non-null Username Required") }
        guard let pass = password, !pass.isEmpty else { throw BerthError("Error: Non-null Password Required") }
        let credentials = Credentials(username: user, password: pass)
        var settings = StoreConfig.load(layout).registries
        settings.tlsVerify = RegistryFlags.tlsVerify(args)
        if let warning = settings.warning(for: server) { ctx.warn(warning) }
        let endpoint = settings.pushEndpoint(for: server)
        try RegistryClient(endpoint: endpoint, repository: "", credentials: credentials, actions: "").verifyLogin()
        try auths.set(credentials, for: server)
        ctx.print("Login Succeeded")
        return 0
    }

    /// A line from the terminal, optionally without echo.
    static func readLine(_ fd: FileDescriptor, echo: Bool) -> String {
        var saved = termios()
        let haveTerm = tcgetattr(fd.rawValue, &saved) == 0
        if haveTerm && !echo {
            var quietMode = saved
            quietMode.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(fd.rawValue, TCSANOW, &quietMode)
        }
        defer { if haveTerm && !echo { tcsetattr(fd.rawValue, TCSANOW, &saved) } }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(fd.rawValue, &byte, 1) == 1 && byte != UInt8(ascii: "\n") { line.append(byte) }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }
}

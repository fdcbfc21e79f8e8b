#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthEngine

/// Docker's progress display for `pull` and `push`. On a terminal each
/// layer has one line, rewritten in place with ANSI cursor moves
/// (`Downloading [=====>    ]  1.2MB/2.0MB`, then `Pull complete`); on
/// anything else each change of a layer's state is one plain line and byte
/// counts are left out.
final class ProgressDisplay: Sendable {
    private struct State {
        var lineOf: [String: Int] = [:]
        var lines = 0
        var lastText: [String: String] = [:]
        var lastStatus: [String: String] = [:]
    }
    private let fd: FileDescriptor
    private let terminal: Bool
    private let quiet: Bool
    private let state = Mutex(State())

    init(fd: FileDescriptor, quiet: Bool = false) {
        self.fd = fd
        self.terminal = isatty(fd.rawValue) == 1
        self.quiet = quiet
    }

    /// Statuses that carry a byte count: only a terminal shows them.
    private static let progressStatuses: Set<String> = ["Downloading", "Extracting", "Pushing"]

    func handle(_ event: TransferEvent) {
        guard !quiet else { return }
        state.withLock { s in
            switch event {
            case .line(let text):
                write(text + "\n")
                s.lines += 1
            case .layer(let id, let status, let current, let total):
                if !terminal {
                    guard !Self.progressStatuses.contains(status), s.lastStatus[id] != status else { return }
                    s.lastStatus[id] = status
                    write("\(id): \(status)\n")
                    return
                }
                var text = "\(id): \(status)"
                if let current { text += " " + Self.bar(current, total) }
                guard s.lastText[id] != text else { return }
                s.lastText[id] = text
                if let line = s.lineOf[id] {
                    let up = s.lines - line
                    write("\u{1b}[\(up)A\r\u{1b}[2K\(text)\r\u{1b}[\(up)B")
                } else {
                    s.lineOf[id] = s.lines
                    s.lines += 1
                    write("\u{1b}[2K\(text)\n")
                }
            }
        }
    }

    /// `[=========>          ]  1.05MB/2.14MB`, as Docker draws it.
    static func bar(_ current: Int64, _ total: Int64?) -> String {
        guard let total, total > 0 else { return Format.size(current) }
        let filled = Int(min(50, max(0, Double(current) / Double(total) * 50)))
        let box = "[" + String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: max(0, 50 - filled)) + "]"
        let numbers = Format.size(current) + "/" + Format.size(total)
        return box + " " + String(repeating: " ", count: max(0, 8 - Format.size(current).count)) + numbers
    }

    private func write(_ text: String) { try? fd.write(text) }
}

extension CommandContext {
    /// Pulls `ref` into the store, showing progress on `fd`.
    func pull(_ ref: RemoteReference, platform: String?, display: ProgressDisplay) throws(BerthError) -> ImagePuller.Result {
        var puller = ImagePuller(store: try images())
        if let platform { puller.platform = try Platform(parsing: platform) }
        return try puller.pull(ref) { display.handle($0) }
    }

    /// `create`/`run`: pulls the image first when `--pull` says so, printing
    /// Docker's lines on stderr. Returns the image name to create from.
    func implicitPull(_ image: String, policy: String, platform: String?) throws(BerthError) -> String {
        guard ["missing", "always", "never"].contains(policy) else {
            throw BerthError("invalid pull option: '\(policy)': must be one of \"always\", \"missing\" or \"never\"")
        }
        let wanted = try platform.map { (p) throws(BerthError) in try Platform(parsing: p) }
        let store = try images()
        let local = try? store.resolve(image)
        if let wanted, let local, policy != "always" {
            // Docker 20.10 refuses a local image of another platform rather
            // than run it under the wrong name; Berth runs only the host's.
            let os = local.config["os"]?.stringValue ?? "linux"
            let arch = local.config["architecture"]?.stringValue ?? ImageConfig.hostArchitecture
            let variant = local.config["variant"]?.stringValue
            if os != wanted.os || arch != wanted.architecture || (wanted.variant != nil && variant != nil && variant != wanted.variant) {
                throw BerthError("image with reference \(image) was found but does not match the specified platform: wanted \(wanted), actual: \(os)/\(arch)\(variant.map { "/" + $0 } ?? "")")
            }
        }
        if policy == "never" { return image }
        let present = local != nil
        if present && policy == "missing" { return image }
        // An image ID (or a prefix of one) is never pulled.
        if image.hasPrefix("sha256:") { return image }
        let ref = try RemoteReference(parsing: image)
        if !present { warn("Unable to find image '\(ref)' locally") }
        let result = try pull(ref, platform: platform, display: ProgressDisplay(fd: stderr))
        return ref.tag == nil ? result.id : image
    }
}

/// `berth pull [--platform P] [-q] NAME[:TAG|@DIGEST]`.
struct PullCommand: Command {
    let spec = CommandSpec(
        "pull", aliases: ["image pull"], summary: "Download an image from a registry",
        flags: [
            FlagSpec("platform", value: "string", help: "Set platform if server is multi-platform capable (default linux/\(ImageConfig.hostArchitecture))"),
            FlagSpec("quiet", short: "q", help: "Suppress verbose output"),
        ],
        arguments: [ArgSpec("NAME[:TAG|@DIGEST]", completion: .images)], min: 1, max: 1,
        details: "Registry mirrors and plain-HTTP registries are set in ROOT/config.json under \"registries\";\nsee docs/images.md.")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let text = args.positionals[0]
        let quiet = args.bool("quiet")
        let ref = try RemoteReference.announcing(text, quiet: quiet, ctx)
        _ = try ctx.pull(ref, platform: args.string("platform"), display: ProgressDisplay(fd: ctx.stdout, quiet: quiet))
        ctx.print(ref.fullName + (ref.tag.map { ":" + $0 } ?? "") + (ref.digest.map { "@" + $0 } ?? ""))
        return 0
    }
}

/// `berth push [-q] NAME[:TAG]`.
struct PushCommand: Command {
    let spec = CommandSpec(
        "push", aliases: ["image push"], summary: "Upload an image to a registry",
        flags: [FlagSpec("quiet", short: "q", help: "Suppress verbose output")],
        arguments: [ArgSpec("NAME[:TAG]", completion: .images)], min: 1, max: 1,
        details: "The image is pushed as a Docker v2 schema 2 manifest with gzip layers.\nTag it first with 'berth tag IMAGE HOST:PORT/REPOSITORY:TAG'.")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let text = args.positionals[0]
        let quiet = args.bool("quiet")
        let ref = try RemoteReference.announcing(text, quiet: quiet, ctx)
        let display = ProgressDisplay(fd: ctx.stdout, quiet: quiet)
        let local = ref.localTag?.description ?? text
        let result = try ImagePusher(store: try ctx.images()).push(local, to: ref) { display.handle($0) }
        if quiet { ctx.print(ref.fullName + ":" + (ref.tag ?? "latest") + "@" + result.digest) }
        return 0
    }
}

/// `berth login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]`.
struct LoginCommand: Command {
    let spec = CommandSpec(
        "login", summary: "Log in to a registry",
        flags: [
            FlagSpec("username", short: "u", value: "string", help: "Username"),
            FlagSpec("password", short: "p", value: "string", help: "Password"),
            FlagSpec("password-stdin", help: "Take the password from stdin"),
        ],
        arguments: [ArgSpec("SERVER", optional: true)], min: 0, max: 1,
        details: "The login is checked against the registry, then stored in ROOT/auth.json (mode 0600).\nThe default server is docker.io.")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let server = AuthStore.key(args.positionals.first ?? "docker.io")
        var username = args.string("username")
        var password = args.string("password")
        if args.bool("password-stdin") {
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
                throw BerthError("cannot perform an interactive login from a non-TTY device; use -u USER with -p or --password-stdin")
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
        let endpoint = StoreConfig.load(layout).registries.pushEndpoint(for: server)
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

/// `berth logout [SERVER]`.
struct LogoutCommand: Command {
    let spec = CommandSpec(
        "logout", summary: "Log out from a registry",
        arguments: [ArgSpec("SERVER", optional: true)], min: 0, max: 1,
        details: "Removes the login for SERVER (default docker.io) from ROOT/auth.json.")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let server = AuthStore.key(args.positionals.first ?? "docker.io")
        let auths = AuthStore(layout: try ctx.openStore())
        if try auths.set(nil, for: server) {
            ctx.print("Removing login credentials for \(server)")
        } else {
            ctx.print("Not logged in to \(server)")
        }
        return 0
    }
}

extension RemoteReference {
    /// Parses a reference for pull or push, saying `Using default tag: latest`
    /// when the user gave none, as Docker does.
    static func announcing(_ text: String, quiet: Bool, _ ctx: CommandContext) throws(BerthError) -> RemoteReference {
        let ref = try RemoteReference(parsing: text)
        if !quiet && !text.contains("@") && ref.tag == "latest" && !text.hasSuffix(":latest") {
            ctx.print("Using default tag: latest")
        }
        return ref
    }
}

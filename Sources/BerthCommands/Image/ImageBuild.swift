#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth build [OPTIONS] PATH|-`: an image from a Dockerfile, on Berth's
/// own engine, with the classic builder's output and layer cache.
struct BuildCommand: Command {
    static let tag = Flag.strings("tag", short: "t", help: "Name and optionally a tag in the 'name:tag' format")
    static let file = Flag.string(
        "file", short: "f", help: "Name of the Dockerfile (Default is 'PATH/Dockerfile')", completion: .files)
    static let buildArg = Flag.strings("build-arg", help: "Set build-time variables")
    static let target = Flag.string("target", help: "Set the target build stage to build.")
    static let noCache = Flag.bool("no-cache", help: "Do not use cache when building the image")
    static let pull = Flag.bool("pull", help: "Always attempt to pull a newer version of the image")
    static let platform = Flag.string(
        "platform",
        help: "Set platform if server is multi-platform capable (only this machine's, linux/\(ImageConfig.hostArchitecture))")
    static let label = Flag.strings("label", help: "Set metadata for an image")
    static let quiet = Flag.bool("quiet", short: "q", help: "Suppress the build output and print image ID on success")
    static let iidfile = Flag.string("iidfile", help: "Write the image ID to the file", completion: .files)
    static let network = Flag.string(
        "network", help: "Set the networking mode for the RUN instructions during build (default \"default\")")

    let spec = CommandSpec(
        "build", aliases: ["image build"], summary: "Build an image from a Dockerfile",
        flags: [
            Self.buildArg, Self.file, Self.iidfile, ContainerFlags.isolation, Self.label, Self.network, Self.noCache,
            Self.platform, Self.pull, Self.quiet, ContainerFlags.storage, Self.tag, Self.target,
            RegistryFlags.disableContentTrust,
        ],
        arguments: [ArgSpec("PATH|-", completion: .files)], min: 1, max: 1,
        details:
            "RUN runs in a real container of the chosen --isolation backend and --storage driver.\nRebuilding reuses every step whose parent image, text and (COPY/ADD) content are unchanged."
    )

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        try RegistryFlags.checkContentTrust(args)
        let lifecycle = try ctx.lifecycle()
        // Berth builds for this machine: another platform is refused, not ignored.
        let platform = try args[Self.platform].map { (text) throws(BerthError) -> String in
            let wanted = try Platform(parsing: text)
            guard wanted.os == "linux", wanted.architecture == ImageConfig.hostArchitecture else {
                throw BerthError(
                    "build --platform \(text): Berth builds only for this machine, linux/\(ImageConfig.hostArchitecture); drop --platform"
                )
            }
            return text
        }
        let tags = try args[Self.tag].map { (t) throws(BerthError) in try ImageReference(parsing: t) }
        let buildArgs = try args[Self.buildArg].map { (a) throws(BerthError) -> (String, String) in
            try pair(a, flag: "build-arg", environment: ctx.environment)
        }
        let labels = try args[Self.label].map { (a) throws(BerthError) in try pair(a, flag: "label", environment: [:]) }
        let source = args.positionals[0]
        var cleanup: String?
        defer { if let cleanup { try? FileSystem.removeTree(cleanup) } }
        let contextPath: String
        var dockerfileText: String?
        if source == "-" {
            let staging = try lifecycle.layout.makeStaging("build-context")
            cleanup = staging
            contextPath = staging + "/context"
            if mkdir(contextPath, 0o755) != 0 { throw .syscall("mkdir", contextPath, .current) }
            dockerfileText = try readStdinContext(ctx, into: contextPath)
        } else {
            guard FileSystem.isDirectory(source) else {
                if FileSystem.exists(source) {
                    throw .invalid(
                        "unable to prepare context: context must be a directory: \(source); give a directory, or - with the tar on standard input"
                    )
                }
                throw .notFound(
                    "unable to prepare context: path \"\(source)\" not found; give a directory or - for a tar on standard input")
            }
            contextPath = source
        }
        if dockerfileText == nil {
            dockerfileText = try readDockerfile(args[Self.file], context: contextPath, stdin: ctx.stdin, fromStdin: source == "-")
        }
        var o = BuildOptions(dockerfile: dockerfileText ?? "", contextPath: contextPath)
        o.tags = tags
        o.buildArgs = buildArgs
        o.target = args[Self.target]
        o.noCache = args[Self.noCache]
        o.labels = labels
        o.quiet = args[Self.quiet]
        o.isolation = args[ContainerFlags.isolation]
        o.storage = args[ContainerFlags.storage]
        o.network = args[Self.network]
        // FROM and COPY --from pull what is missing (every image with --pull),
        // as Docker's build does; a build stage's name never reaches this.
        let policy = args[Self.pull] ? "always" : "missing"
        o.fetchImage = { (image) throws(BerthError) -> String in
            image.lowercased() == "scratch" ? image : try ctx.implicitPull(image, policy: policy, platform: platform)
        }
        let output = BuildOutput(
            line: { ctx.print($0) }, warn: { ctx.warn($0) }, stdoutFD: ctx.stdout.rawValue, stderrFD: ctx.stderr.rawValue)
        let builder = try Builder(lifecycle: lifecycle, options: o, output: output, environment: ctx.environment)
        let id = try builder.build()
        if o.quiet { ctx.print(id) }
        if let iidfile = args[Self.iidfile] { try FileSystem.writeAtomically(iidfile, text: id) }
        return 0
    }

    /// `K=V`, or `K` alone for a build arg: its value from the environment.
    private func pair(_ text: String, flag: String, environment: [String: String]) throws(BerthError) -> (String, String) {
        if let eq = text.firstIndex(of: "=") {
            guard eq != text.startIndex else {
                throw .invalid("invalid argument \"\(text)\" for \"--\(flag)\" flag: the name is empty")
            }
            return (String(text[..<eq]), String(text[text.index(after: eq)...]))
        }
        guard flag == "build-arg", let value = environment[text] else {
            if flag == "build-arg" { return (text, "") }
            return (text, "")
        }
        return (text, value)
    }

    /// `-f FILE` (relative to the current directory), `-f -` (standard
    /// input), else `Dockerfile` in the context.
    private func readDockerfile(_ file: String?, context: String, stdin: FileDescriptor, fromStdin: Bool) throws(BerthError)
        -> String
    {
        if file == "-" {
            guard !fromStdin else { throw .invalid("invalid argument: can't use stdin for both build context and dockerfile") }
            return String(decoding: try readAll(stdin), as: UTF8.self)
        }
        let path = file ?? context + "/Dockerfile"
        let candidate = FileSystem.exists(path) || file == nil || path.hasPrefix("/") ? path : context + "/" + path
        guard FileSystem.exists(candidate), !FileSystem.isDirectory(candidate) else {
            throw .notFound(
                "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat \(candidate): no such file or directory"
            )
        }
        return try FileSystem.readText(candidate)
    }

    /// `build -`: a tar (plain or gzip) is the context; anything else is a
    /// Dockerfile with an empty context, as Docker decides.
    private func readStdinContext(_ ctx: CommandContext, into directory: String) throws(BerthError) -> String? {
        let file = FileSource(descriptor: ctx.stdin, name: "standard input", owned: false)
        let head = try file.peek(512)
        let isGzip = head.starts(with: [0x1f, 0x8b])
        let isTar = head.count == 512 && Array(head[257..<262]) == Array("ustar".utf8)
        guard isGzip || isTar else {
            return String(decoding: try readAll(file), as: UTF8.self)
        }
        _ = try LayerExtractor().extract(
            from: try ArchiveInput.decompressing(file, name: "standard input"), name: "standard input", into: directory)
        return nil
    }

    private func readAll(_ fd: FileDescriptor) throws(BerthError) -> [UInt8] {
        try readAll(FileSource(descriptor: fd, name: "standard input", owned: false))
    }

    private func readAll(_ source: any ByteSource) throws(BerthError) -> [UInt8] {
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
            guard out.count <= 64 << 20 else { throw .invalid("the Dockerfile on standard input is larger than 64MiB") }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth export [-o FILE] CONTAINER`: the container's filesystem as one flat tar.
struct ExportCommand: Command {
    let spec = CommandSpec(
        "export", aliases: ["container export"], summary: "Export a container's filesystem as a tar archive",
        flags: [FlagSpec("output", short: "o", value: "string", help: "Write to a file, instead of STDOUT", completion: .files)],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let files = ContainerFiles(lifecycle: try ctx.lifecycle())
        guard let output = args.string("output") else {
            guard !ctx.stdoutIsTerminal else {
                throw BerthError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
            }
            try files.export(args.positionals[0], to: FileSink(descriptor: ctx.stdout, name: "standard output"))
            return 0
        }
        try AtomicFile.write(output) { (sink) throws(BerthError) in try files.export(args.positionals[0], to: sink) }
        return 0
    }
}

/// Writes a file through a temp name and renames it into place, so a failed
/// export never leaves a truncated tar that looks whole.
enum AtomicFile {
    static func write(_ path: String, _ body: (FileSink) throws(BerthError) -> Void) throws(BerthError) {
        let tmp = "\(path).tmp-\(getpid())"
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644) } catch {
            throw .syscall("create", path, error, fix: "check that the directory exists and is writable")
        }
        do throws(BerthError) {
            try body(FileSink(descriptor: fd, name: path))
            do { try fd.sync() } catch { throw .syscall("fsync", path, error) }
            fd.close()
            if rename(tmp, path) != 0 { throw .syscall("rename", tmp, .current) }
        } catch {
            fd.close()
            unlink(tmp)
            throw error
        }
    }
}

/// `berth diff CONTAINER`: A/C/D lines, as Docker prints them.
struct DiffCommand: Command {
    let spec = CommandSpec(
        "diff", aliases: ["container diff"], summary: "Inspect changes to files or directories on a container's filesystem",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        for change in try ContainerFiles(lifecycle: try ctx.lifecycle()).diff(args.positionals[0]) {
            ctx.print("\(change.kind) \(change.path)")
        }
        return 0
    }
}

/// `berth commit CONTAINER [REPOSITORY[:TAG]]`.
struct CommitCommand: Command {
    let spec = CommandSpec(
        "commit", aliases: ["container commit"], summary: "Create a new image from a container's changes",
        flags: [
            FlagSpec("author", short: "a", value: "string", help: "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"),
            FlagSpec("change", short: "c", value: "list", help: "Apply Dockerfile instruction to the created image"),
            FlagSpec("message", short: "m", value: "string", help: "Commit message"),
            FlagSpec("pause", short: "p", help: "Pause container during commit", default: "true"),
        ],
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil)), ArgSpec("REPOSITORY[:TAG]", optional: true)],
        min: 1, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var o = CommitOptions()
        o.tag = try args.positionals.count > 1 ? ImageReference(parsing: args.positionals[1]) : nil
        o.changes = args.strings("change")
        o.message = args.string("message") ?? ""
        o.author = args.string("author") ?? ""
        o.pause = args.string("pause") != "false"
        ctx.print(try ImageCommitter(lifecycle: try ctx.lifecycle()).commit(args.positionals[0], o))
        return 0
    }
}

/// `berth cp`: copy files between a container and the host, both ways.
struct CpCommand: Command {
    let spec = CommandSpec(
        "cp", aliases: ["container cp"], summary: "Copy files/folders between a container and the local filesystem",
        flags: [FlagSpec("archive", short: "a", help: "Archive mode (copy all uid/gid information)")],
        arguments: [ArgSpec("SRC", completion: .files), ArgSpec("DEST", completion: .files)], min: 2, max: 2,
        details: "Use CONTAINER:PATH for the container side: berth cp web:/etc/hosts . or berth cp ./app web:/srv")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let copy = ContainerCopy(lifecycle: try ctx.lifecycle())
        let (src, dst) = (split(args.positionals[0]), split(args.positionals[1]))
        switch (src, dst) {
        case let ((container?, path), (nil, host)):
            try copy.copyOut(container, source: path, destination: host, archive: args.bool("archive"))
        case let ((nil, host), (container?, path)):
            try copy.copyIn(container, source: host, destination: path, archive: args.bool("archive"))
        case ((_?, _), (_?, _)):
            throw BerthError("copying between containers is not supported; copy to the host first")
        default:
            throw BerthError("must specify at least one container source: use CONTAINER:PATH for SRC or DEST")
        }
        return 0
    }

    /// `name:/path` → (name, /path); a host path (absolute, or without a colon) → (nil, path).
    private func split(_ arg: String) -> (String?, String) {
        guard !arg.hasPrefix("/"), !arg.hasPrefix("."), let colon = arg.firstIndex(of: ":") else { return (nil, arg) }
        return (String(arg[..<colon]), String(arg[arg.index(after: colon)...]))
    }
}

/// `berth history IMAGE`: the image's layers, newest first.
struct HistoryCommand: Command {
    let spec = CommandSpec(
        "history", aliases: ["image history"], summary: "Show the history of an image",
        flags: [FlagSpec("no-trunc", help: "Don't truncate output"), FlagSpec("quiet", short: "q", help: "Only show image IDs")],
        arguments: [ArgSpec("IMAGE", completion: .images)], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let store = try ctx.images()
        let image = try store.resolve(args.positionals[0])
        let history = image.config["history"]?.arrayValue ?? []
        let layers = image.diffIDs
        let now = Timestamp.now.asDouble
        var rows: [[String]] = []
        var layerIndex = layers.count - 1
        for (i, entry) in history.enumerated().reversed() {
            let empty = entry["empty_layer"]?.boolValue ?? false
            let size = empty || layerIndex < 0 ? 0 : store.layerSize(layers[layerIndex])
            if !empty { layerIndex -= 1 }
            let created = entry["created"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            var by = entry["created_by"]?.stringValue ?? ""
            if !args.bool("no-trunc") && by.count > 45 { by = String(by.prefix(44)) + "…" }
            let id = i == history.count - 1 ? (args.bool("no-trunc") ? image.id : image.shortID) : "<missing>"
            rows.append([id, created.map { Format.duration(seconds: now - $0.asDouble) + " ago" } ?? "",
                         by, Format.size(size), entry["comment"]?.stringValue ?? ""])
        }
        if args.bool("quiet") { rows.forEach { ctx.print($0[0]) }; return 0 }
        ctx.printRaw(Table.render(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], rows))
        return 0
    }
}

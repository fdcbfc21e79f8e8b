#if canImport(Glibc)
import Glibc
#endif
import BerthEngine
import CBerthLinux

/// External command plugins: executables named `berth-NAME` in the plugin
/// directories, asked for their metadata with `berth-NAME berth-plugin-metadata`
/// (versioned JSON, like Docker's CLI plugins). Built-ins win on a clash; a
/// rejected candidate is recorded with its reason and breaks nothing else.
public enum ExternalPlugins {
    /// Registers every valid plugin found; records the others as rejected.
    /// The metadata cache is read only when a listed directory holds a
    /// `berth-NAME` executable candidate.
    public static func discover(root: String, _ listings: [PluginDirectories.Listing], registry: PluginRegistry) {
        let candidates = listings.contains { $0.files.contains { PluginDirectories.commandName($0, script: false) != nil } }
        guard candidates else { return }
        var seen = Set<String>()
        var cache = PluginMetadataCache(root: root)
        defer { cache.save() }
        for listing in listings {
            let dir = listing.directory
            for file in listing.files {
                guard let name = PluginDirectories.commandName(file, script: false) else { continue }
                let path = dir + "/" + file
                guard !seen.contains(name) else { continue }
                seen.insert(name)
                do throws(BerthError) {
                    let command = try load(path, name: name, registry: registry, cache: &cache)
                    registry.register(
                        Registration(
                            kind: .command, id: name, description: command.spec.summary,
                            origin: .external(path), version: command.version,
                            factory: .command { command }))
                } catch {
                    registry.reject(path, reason: error.message)
                }
            }
        }
    }

    static func load(
        _ path: String, name: String, registry: PluginRegistry,
        cache: inout PluginMetadataCache
    ) throws(BerthError) -> ExternalCommand {
        guard access(path, X_OK) == 0, !FileSystem.isDirectory(path) else { throw BerthError("not executable") }
        if registry.contains(.command, name) || registry.commands.contains(where: { $0.spec.aliases.contains(name) }) {
            throw BerthError("name clash with the built-in command \"\(name)\"")
        }
        if let remembered = cache.lookup(path) {
            if let command = try? command(path, name: name, metadata: remembered) { return command }
            cache.forget(path)  // valid once, not now (a new protocol?): ask the plugin again
        }
        let before = PluginMetadataCache.identity(path)
        let output = try metadata(path)
        let command = try command(path, name: name, metadata: output)
        cache.store(path, output: output, before: before)
        return command
    }

    /// The command a plugin's metadata answer describes, if the answer is valid.
    static func command(_ path: String, name: String, metadata output: String) throws(BerthError) -> ExternalCommand {
        let json: JSON
        do { json = try JSONParser.parse(output) } catch { throw BerthError("bad metadata: \(error.message)") }
        guard json["SchemaVersion"]?.stringValue == PluginDirectories.protocolVersion else {
            throw BerthError("bad metadata: SchemaVersion must be \"\(PluginDirectories.protocolVersion)\"")
        }
        guard (json["Kind"]?.stringValue ?? "command") == "command" else {
            throw BerthError("bad metadata: only Kind \"command\" is supported by external executables")
        }
        guard json["Name"]?.stringValue == name else {
            throw BerthError(
                "bad metadata: Name \"\(json["Name"]?.stringValue ?? "")\" does not match the file name berth-\(name)")
        }
        return ExternalCommand(path: path, spec: spec(name, json), version: json["Version"]?.stringValue ?? "")
    }

    /// The spec a plugin declares: summary, flags and arguments for help and completion.
    static func spec(_ name: String, _ json: JSON) -> CommandSpec {
        let flags = (json["Flags"]?.arrayValue ?? []).compactMap { f -> FlagSpec? in
            guard let long = f["Long"]?.stringValue else { return nil }
            return FlagSpec(
                long, short: f["Short"]?.stringValue?.first, value: f["Value"]?.stringValue,
                help: f["Help"]?.stringValue ?? "", completion: completion(f["Completion"]?.stringValue))
        }
        let arguments = (json["Arguments"]?.arrayValue ?? []).compactMap { a -> ArgSpec? in
            guard let n = a["Name"]?.stringValue else { return nil }
            return ArgSpec(
                n, completion: completion(a["Completion"]?.stringValue),
                repeats: a["Repeats"]?.boolValue ?? false, optional: a["Optional"]?.boolValue ?? true)
        }
        var spec = CommandSpec(
            name, summary: json["ShortDescription"]?.stringValue ?? "", flags: flags,
            arguments: arguments, details: json["Description"]?.stringValue ?? "")
        spec.passthrough = true
        return spec
    }

    static func completion(_ word: String?) -> Completion {
        switch word {
        case "files": return .files
        case "images": return .images
        case "containers": return .containers(nil)
        case "running-containers": return .containers(["running"])
        default: return .none
        }
    }

    /// Runs `PATH berth-plugin-metadata` with a 2 s limit; returns its stdout.
    static func metadata(_ path: String) throws(BerthError) -> String {
        var out: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&out) == 0 else { throw .syscall("pipe", "for \(path)", .current) }
        let arena = CStringArena()
        defer { arena.free() }
        let pid = berth_fork_exec(path, arena.mutableArray([path, "berth-plugin-metadata"]), nil, -1, out[1], -1)
        close(out[1])
        defer { close(out[0]) }
        guard pid > 0 else { throw BerthError("cannot run it: \(Errno.current)") }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Timestamp.now.asDouble + 2
        while Timestamp.now.asDouble < deadline {
            var p = pollfd(fd: out[0], events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = read(out[0], &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { break }
        }
        var status: Int32 = 0
        // Its output has ended; give it until the deadline to exit.
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Timestamp.now.asDouble >= deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                throw BerthError("the metadata call did not answer within 2 s")
            }
            usleep(2000)
        }
        guard status == 0 else { throw BerthError("the metadata call failed with status \(status >> 8)") }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A command carried out by an external executable.
struct ExternalCommand: Command {
    let path: String
    let spec: CommandSpec
    let version: String

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var env = ctx.environment
        env["BERTH_ROOT"] = ctx.root
        env["BERTH_BIN"] = FileSystem.readLink("/proc/self/exe") ?? "berth"
        env["BERTH_PLUGIN_PROTOCOL"] = PluginDirectories.protocolVersion
        env.merge(Rootless.childEnvironment) { _, rootless in rootless }
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(ctx.stdin.rawValue, Int32(0)), (ctx.stdout.rawValue, 1), (ctx.stderr.rawValue, 2)]
        where fd != target {
            posix_spawn_file_actions_adddup2(&actions, fd, target)
        }
        let argv = ([path] + args.positionals).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw .syscall("run plugin", path, Errno(rc)) }
        let status = waitForChild(pid) ?? 0
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

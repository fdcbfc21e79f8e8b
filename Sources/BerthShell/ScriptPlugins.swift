import BerthCore

/// Script plugins: `berth-NAME.berth` files in the plugin directories define
/// the command NAME in Berth's own language; its arguments are `$1…`, `$@`.
/// A first-line comment `# berth-plugin: SUMMARY` gives the help line.
public enum ScriptPlugins {
    /// Registers the scripts of the listed plugin directories.
    public static func discover(_ listings: [PluginDirectories.Listing], registry: PluginRegistry) {
        var seen = Set<String>()
        for listing in listings {
            let dir = listing.directory
            for file in listing.files {
                guard let name = PluginDirectories.commandName(file, script: true), !seen.contains(name) else { continue }
                seen.insert(name)
                let path = dir + "/" + file
                if registry.contains(.command, name) {
                    registry.reject(path, reason: "name clash with the command \"\(name)\"")
                    continue
                }
                guard let text = try? FileSystem.readText(path) else {
                    registry.reject(path, reason: "not readable")
                    continue
                }
                do {
                    _ = try ScriptParser.parse(text)
                } catch {
                    registry.reject(path, reason: "does not parse: \(error.rendered(file: file))")
                    continue
                }
                let first = text.split(separator: "\n").first ?? ""
                let summary =
                    first.hasPrefix("# berth-plugin:") ? String(first.dropFirst(15)).trimmingSpaces : "Script plugin \(file)"
                var spec = CommandSpec(name, summary: summary, arguments: [ArgSpec("ARG", repeats: true, optional: true)])
                spec.passthrough = true
                let command = ScriptPluginCommand(path: path, spec: spec)
                registry.register(
                    Registration(
                        kind: .command, id: name, description: summary, origin: .external(path),
                        version: "script", factory: .command { command }))
            }
        }
    }
}

/// Runs a script plugin with its arguments as `$1…`.
struct ScriptPluginCommand: Command {
    let path: String
    let spec: CommandSpec

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let text = try FileSystem.readText(path)
        let executor = Executor(registry: ctx.registry, context: ctx, interactive: false)
        let interpreter = Interpreter(
            registry: ctx.registry, execute: executor.execute,
            io: StandardScriptIO(errorOutput: { try? ctx.stderr.write($0) }),
            stopOnError: true, file: path)
        interpreter.frames = [ScriptFrame(name: path, arguments: args.positionals, isFunction: false)]
        switch interpreter.run(source: text, name: path) {
        case .finished(let status), .exit(let status): return status
        }
    }
}

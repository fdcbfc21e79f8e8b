#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthShell

let registry = Registry()

// MARK: - BEGIN repl-branch stand-ins (replace on merge with the real built-ins)
// Declarations only, so the REPL's completion and help can be exercised end to
// end before the real commands land; none of them touches a store.
struct StandInCommand: Command {
    let spec: CommandSpec
    func run(_ args: ParsedArguments, _ context: CommandContext) throws(BerthError) -> Int32 {
        throw BerthError("\"\(spec.name)\" is a stand-in in the repl branch; the real command lives on main")
    }
}
for spec in [
    CommandSpec("images", aliases: ["image ls"], summary: "List images",
                flags: [FlagSpec("quiet", short: "q", help: "Only show image IDs")],
                arguments: [ArgSpec("REPOSITORY[:TAG]", completion: .images, optional: true)], max: 1),
    CommandSpec("import", aliases: ["image import"], summary: "Import a tarball as an image",
                arguments: [ArgSpec("FILE", completion: .files), ArgSpec("REPOSITORY[:TAG]", optional: true)],
                min: 1, max: 2),
    CommandSpec("rmi", aliases: ["image rm"], summary: "Remove images",
                flags: [FlagSpec("force", short: "f", help: "Remove even if used")],
                arguments: [ArgSpec("IMAGE", completion: .images, repeats: true)], min: 1),
    CommandSpec("start", summary: "Start created or stopped containers",
                arguments: [ArgSpec("CONTAINER", completion: .containers(["created", "exited"]), repeats: true)],
                min: 1),
    CommandSpec("unpause", summary: "Unpause containers",
                arguments: [ArgSpec("CONTAINER", completion: .containers(["paused"]), repeats: true)], min: 1),
    CommandSpec("run", summary: "Create and start a container",
                flags: [FlagSpec("name", value: "string", help: "Container name"),
                        FlagSpec("interactive", short: "i", help: "Keep stdin open"),
                        FlagSpec("tty", short: "t", help: "Allocate a terminal")],
                arguments: [ArgSpec("IMAGE", completion: .images), ArgSpec("COMMAND", optional: true),
                            ArgSpec("ARG", repeats: true, optional: true)],
                min: 1, interspersed: false),
    CommandSpec("plugin ls", summary: "List plugins"),
    CommandSpec("plugin inspect", summary: "Show a plugin",
                arguments: [ArgSpec("PLUGIN", completion: .plugins)], min: 1, max: 1),
] {
    registry.register(.command({ StandInCommand(spec: spec) }))
}
// MARK: END repl-branch stand-ins

exit(Launcher.main(arguments: CommandLine.arguments, registry: registry,
                   completionSource: { _ in EmptyCompletionSource() }))

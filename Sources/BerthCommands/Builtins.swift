import BerthEngine

/// The built-in commands. They register exactly as plugins do; the executable
/// calls `register` once at start-up.
public enum Builtins {
    /// Every built-in command, in the order `help` lists them: its name and
    /// aliases, so that finding the one a command line names makes only
    /// that one (making all 64 to read their specs cost every `berth` start
    /// half a millisecond). `BuiltinsTests` checks each against its spec.
    public static let commands: [BuiltinCommand] = [
        .init("import", ["image import"]) { ImportCommand() },
        .init("build", ["image build"]) { BuildCommand() },
        .init("images", ["image ls", "image list"]) { ImagesCommand() },
        .init("tag", ["image tag"]) { TagCommand() },
        .init("rmi", ["image rm", "image remove"]) { RmiCommand() },
        .init("inspect", []) { InspectCommand() },
        .init("plugin ls", ["plugin list", "plugins"]) { PluginListCommand() },
        .init("plugin inspect", []) { PluginInspectCommand() },
        .init("help", []) { HelpCommand() },
        .init("version", []) { VersionCommand() },
        .init("info", ["system info"]) { InfoCommand() },
        .init("create", ["container create"]) { CreateCommand() },
        .init("run", ["container run"]) { RunCommand() },
        .init("start", ["container start"]) { StartCommand() },
        .init("stop", ["container stop"]) { StopCommand() },
        .init("restart", ["container restart"]) { RestartCommand() },
        .init("pause", ["container pause"]) { PauseCommand() },
        .init("unpause", ["container unpause"]) { UnpauseCommand() },
        .init("kill", ["container kill"]) { KillCommand() },
        .init("wait", ["container wait"]) { WaitCommand() },
        .init("rm", ["container rm", "container remove"]) { RmCommand() },
        .init("ps", ["container ls", "container list", "container ps"]) { PsCommand() },
        .init("logs", ["container logs"]) { LogsCommand() },
        .init("top", ["container top"]) { TopCommand() },
        .init("rename", ["container rename"]) { RenameCommand() },
        .init("container prune", []) { ContainerPruneCommand() },
        .init("exec", ["container exec"]) { ExecCommand() },
        .init("attach", ["container attach"]) { AttachCommand() },
        .init("export", ["container export"]) { ExportCommand() },
        .init("diff", ["container diff"]) { DiffCommand() },
        .init("commit", ["container commit"]) { CommitCommand() },
        .init("cp", ["container cp"]) { CpCommand() },
        .init("history", ["image history"]) { HistoryCommand() },
        .init("system df", []) { SystemDfCommand() },
        .init("save", ["image save"]) { SaveCommand() },
        .init("load", ["image load"]) { LoadCommand() },
        .init("update", ["container update"]) { UpdateCommand() },
        .init("stats", ["container stats"]) { StatsCommand() },
        .init("events", ["system events"]) { EventsCommand() },
        .init("volume create", []) { VolumeCreateCommand() },
        .init("volume ls", ["volume list"]) { VolumeListCommand() },
        .init("volume inspect", []) { VolumeInspectCommand() },
        .init("volume rm", ["volume remove"]) { VolumeRemoveCommand() },
        .init("volume prune", []) { VolumePruneCommand() },
        .init("bench", []) { BenchCommand() },
        .init("pull", ["image pull"]) { PullCommand() },
        .init("push", ["image push"]) { PushCommand() },
        .init("login", []) { LoginCommand() },
        .init("logout", []) { LogoutCommand() },
        .init("network create", []) { NetworkCreateCommand() },
        .init("network ls", ["network list"]) { NetworkListCommand() },
        .init("network inspect", []) { NetworkInspectCommand() },
        .init("network rm", ["network remove"]) { NetworkRemoveCommand() },
        .init("network prune", []) { NetworkPruneCommand() },
        .init("network connect", []) { NetworkConnectCommand() },
        .init("network disconnect", []) { NetworkDisconnectCommand() },
        .init("port", ["container port"]) { PortCommand() },
        .init("system prune", []) { SystemPruneCommand() },
        .init("system reset", []) { SystemResetCommand() },
        .init("unshare", []) { UnshareCommand() },
        .init("image prune", []) { ImagePruneCommand() },
        .init("container inspect", []) { ContainerInspectCommand() },
        .init("image inspect", []) { ImageInspectCommand() },
        .init("container exists", []) { ContainerExistsCommand() },
        .init("image exists", []) { ImageExistsCommand() },
        .init("system service", []) { SystemServiceCommand() },
    ]

    /// One built-in: its name, its aliases and what makes it. A struct and
    /// not a tuple: the runtime built the metadata of an array of tuples
    /// holding a function type by demangling its name, on every start
    /// (about 0.2 ms of `berth version`); a nominal type's is referenced.
    public struct BuiltinCommand: Sendable {
        public let name: String
        public let aliases: [String]
        public let make: @Sendable () -> any Command

        init(_ name: String, _ aliases: [String], _ make: @escaping @Sendable () -> any Command) {
            self.name = name
            self.aliases = aliases
            self.make = make
        }
    }

    /// Adds every built-in command to the registry.
    public static func register(into registry: PluginRegistry) {
        for entry in commands { registry.register(.command(name: entry.name, aliases: entry.aliases, entry.make)) }
    }
}

extension CommandContext {
    /// The image store.
    func images() throws(BerthError) -> ImageStore { ImageStore(layout: try openStore()) }

    /// Prints text that already ends in a newline.
    func printRaw(_ text: String) { try? stdout.write(text) }
}

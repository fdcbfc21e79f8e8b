import BerthEngine

/// The built-in commands. They register exactly as plugins do; the executable
/// calls `register` once at start-up.
public enum Builtins {
    /// Every built-in command, in the order `help` lists them: its name and
    /// aliases, so that finding the one a command line names makes only
    /// that one (making all 64 to read their specs cost every `berth` start
    /// half a millisecond). `BuiltinsTests` checks each against its spec.
    public static let commands: [(name: String, aliases: [String], make: @Sendable () -> any Command)] = [
        ("import", ["image import"], { ImportCommand() }),
        ("build", ["image build"], { BuildCommand() }),
        ("images", ["image ls", "image list"], { ImagesCommand() }),
        ("tag", ["image tag"], { TagCommand() }),
        ("rmi", ["image rm", "image remove"], { RmiCommand() }),
        ("inspect", [], { InspectCommand() }),
        ("plugin ls", ["plugin list", "plugins"], { PluginListCommand() }),
        ("plugin inspect", [], { PluginInspectCommand() }),
        ("help", [], { HelpCommand() }),
        ("version", [], { VersionCommand() }),
        ("info", ["system info"], { InfoCommand() }),
        ("create", ["container create"], { CreateCommand() }),
        ("run", ["container run"], { RunCommand() }),
        ("start", ["container start"], { StartCommand() }),
        ("stop", ["container stop"], { StopCommand() }),
        ("restart", ["container restart"], { RestartCommand() }),
        ("pause", ["container pause"], { PauseCommand() }),
        ("unpause", ["container unpause"], { UnpauseCommand() }),
        ("kill", ["container kill"], { KillCommand() }),
        ("wait", ["container wait"], { WaitCommand() }),
        ("rm", ["container rm", "container remove"], { RmCommand() }),
        ("ps", ["container ls", "container list", "container ps"], { PsCommand() }),
        ("logs", ["container logs"], { LogsCommand() }),
        ("top", ["container top"], { TopCommand() }),
        ("rename", ["container rename"], { RenameCommand() }),
        ("container prune", [], { ContainerPruneCommand() }),
        ("exec", ["container exec"], { ExecCommand() }),
        ("attach", ["container attach"], { AttachCommand() }),
        ("export", ["container export"], { ExportCommand() }),
        ("diff", ["container diff"], { DiffCommand() }),
        ("commit", ["container commit"], { CommitCommand() }),
        ("cp", ["container cp"], { CpCommand() }),
        ("history", ["image history"], { HistoryCommand() }),
        ("system df", [], { SystemDfCommand() }),
        ("save", ["image save"], { SaveCommand() }),
        ("load", ["image load"], { LoadCommand() }),
        ("update", ["container update"], { UpdateCommand() }),
        ("stats", ["container stats"], { StatsCommand() }),
        ("events", ["system events"], { EventsCommand() }),
        ("volume create", [], { VolumeCreateCommand() }),
        ("volume ls", ["volume list"], { VolumeListCommand() }),
        ("volume inspect", [], { VolumeInspectCommand() }),
        ("volume rm", ["volume remove"], { VolumeRemoveCommand() }),
        ("volume prune", [], { VolumePruneCommand() }),
        ("bench", [], { BenchCommand() }),
        ("pull", ["image pull"], { PullCommand() }),
        ("push", ["image push"], { PushCommand() }),
        ("login", [], { LoginCommand() }),
        ("logout", [], { LogoutCommand() }),
        ("network create", [], { NetworkCreateCommand() }),
        ("network ls", ["network list"], { NetworkListCommand() }),
        ("network inspect", [], { NetworkInspectCommand() }),
        ("network rm", ["network remove"], { NetworkRemoveCommand() }),
        ("network prune", [], { NetworkPruneCommand() }),
        ("network connect", [], { NetworkConnectCommand() }),
        ("network disconnect", [], { NetworkDisconnectCommand() }),
        ("port", ["container port"], { PortCommand() }),
        ("system prune", [], { SystemPruneCommand() }),
        ("system reset", [], { SystemResetCommand() }),
        ("unshare", [], { UnshareCommand() }),
        ("image prune", [], { ImagePruneCommand() }),
        ("container inspect", [], { ContainerInspectCommand() }),
        ("image inspect", [], { ImageInspectCommand() }),
        ("container exists", [], { ContainerExistsCommand() }),
        ("image exists", [], { ImageExistsCommand() }),
        ("system service", [], { SystemServiceCommand() }),
    ]

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

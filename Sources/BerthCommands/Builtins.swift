import BerthEngine

/// The built-in commands. They register exactly as plugins do; the executable
/// calls `register` once at start-up.
public enum Builtins {
    /// Every built-in command, in the order `help` lists them.
    public static let commands: [@Sendable () -> any Command] = [
        { ImportCommand() }, { BuildCommand() }, { ImagesCommand() }, { TagCommand() }, { RmiCommand() },
        { InspectCommand() }, { PluginListCommand() }, { PluginInspectCommand() },
        { HelpCommand() }, { VersionCommand() }, { InfoCommand() },
        { CreateCommand() }, { RunCommand() }, { StartCommand() }, { StopCommand() }, { RestartCommand() },
        { PauseCommand() }, { UnpauseCommand() }, { KillCommand() }, { WaitCommand() }, { RmCommand() },
        { PsCommand() }, { LogsCommand() }, { TopCommand() }, { RenameCommand() }, { ContainerPruneCommand() },
        { ExecCommand() }, { AttachCommand() }, { ExportCommand() }, { DiffCommand() }, { CommitCommand() },
        { CpCommand() }, { HistoryCommand() }, { SystemDfCommand() }, { SaveCommand() }, { LoadCommand() },
        { UpdateCommand() }, { StatsCommand() }, { EventsCommand() },
        { VolumeCreateCommand() }, { VolumeListCommand() }, { VolumeInspectCommand() }, { VolumeRemoveCommand() },
        { VolumePruneCommand() }, { BenchCommand() },
        { PullCommand() }, { PushCommand() }, { LoginCommand() }, { LogoutCommand() },
        { NetworkCreateCommand() }, { NetworkListCommand() }, { NetworkInspectCommand() }, { NetworkRemoveCommand() },
        { NetworkPruneCommand() }, { NetworkConnectCommand() }, { NetworkDisconnectCommand() }, { PortCommand() },
        { SystemPruneCommand() }, { SystemResetCommand() }, { UnshareCommand() },
        { ImagePruneCommand() }, { ContainerInspectCommand() }, { ImageInspectCommand() },
        { ContainerExistsCommand() }, { ImageExistsCommand() }, { SystemServiceCommand() },
    ]

    /// Adds every built-in command to the registry.
    public static func register(into registry: PluginRegistry) {
        for make in commands { registry.register(.command(make)) }
    }
}

extension CommandContext {
    /// The image store.
    func images() throws(BerthError) -> ImageStore { ImageStore(layout: try openStore()) }

    /// Prints text that already ends in a newline.
    func printRaw(_ text: String) { try? stdout.write(text) }
}

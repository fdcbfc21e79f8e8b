import Synchronization

/// How long this `berth` process lives, for the work that depends on it.
public enum CommandProcess {
    private static let oneCommand = Atomic<Bool>(false)

    /// True in `berth CMD ARGS…`, which runs that one command and exits; false
    /// in the REPL, a script and the API service, which run many. A
    /// container's monitor forked by a one-command `berth` stays its child
    /// (the kernel hands it to init, or the nearest subreaper, when the
    /// command exits, which is soon) instead of forking once more to leave
    /// it, as it must from a long-lived process that would otherwise collect
    /// a zombie per container.
    public static var runsOneCommand: Bool { oneCommand.load(ordering: .relaxed) }

    /// Called by the launcher before it runs the one command.
    public static func markOneCommand() { oneCommand.store(true, ordering: .relaxed) }
}

import Synchronization

/// Ctrl-C inside the REPL: the shell must survive it, and the command or
/// script loop that is running must stop.
///
/// The REPL's SIGINT handler calls `request()` (an atomic store, safe in a
/// signal handler). The interpreter checks between statements and loop
/// iterations; commands that wait or follow (`logs -f`, `events`, `stats`,
/// `wait`) and long extractions check at each step, and a signal cuts their
/// sleeps short. Outside the REPL no handler is installed, so Ctrl-C ends
/// `berth` the usual way.
public enum Interruption {
    private static let flag = Atomic<Bool>(false)

    /// Whether Ctrl-C was pressed since the last `clear()`.
    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Called from the SIGINT handler.
    public static func request() { flag.store(true, ordering: .relaxed) }

    /// Forgets a press (before the next command starts).
    public static func clear() { flag.store(false, ordering: .relaxed) }

    /// Throws `BerthError.interrupted` if Ctrl-C was pressed.
    public static func check() throws(BerthError) {
        if requested { throw .interrupted }
    }
}

extension BerthError {
    /// What an interrupted command fails with: 130, as a shell reports SIGINT.
    public static var interrupted: BerthError { BerthError("interrupted (Ctrl-C)", exitCode: 130) }
}

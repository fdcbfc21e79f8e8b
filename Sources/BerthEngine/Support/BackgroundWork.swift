#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Work begun on a POSIX thread of its own and waited for later, so that a
/// slow step overlaps the steps after it: the monitor makes a container's
/// cgroup while it prepares the rest of the start (`NativeStart`), on the
/// core the waiting CLI leaves idle; `Parallel` runs its workers on them.
///
/// The body must not fork or clone. A process the starting thread clones
/// while the body runs gets a copy of memory whose locks (malloc's, the
/// Swift runtime's) the body may hold: the spawn child calls neither before
/// its exec (Sources/CBerthLinux/spawn.c), so the monitor may clone PID 1
/// meanwhile. Every `BackgroundWork` must be waited for before its owner
/// returns or throws: the body may still be making what a failure path
/// would undo.
final class BackgroundWork: @unchecked Sendable {
    private let body: @Sendable () throws(BerthError) -> Void
    // Written by the thread before it ends, read after `pthread_join`.
    private var outcome: Result<Void, BerthError> = .success(())
    private var thread = pthread_t()
    private var running = false

    /// Starts `body` on a new thread, or runs it here if no thread can be made.
    init(_ body: @escaping @Sendable () throws(BerthError) -> Void) {
        self.body = body
        let me = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { raw in
                let work = Unmanaged<BackgroundWork>.fromOpaque(raw!).takeRetainedValue()
                work.run()
                return nil
            }, me)
        if status == 0 {
            running = true
        } else {
            Unmanaged<BackgroundWork>.fromOpaque(me).release()
            run()
        }
    }

    private func run() {
        do throws(BerthError) {
            try body()
        } catch {
            outcome = .failure(error)
        }
    }

    /// Waits for the body and rethrows its error. Later calls return at once
    /// with the same outcome.
    func wait() throws(BerthError) {
        if running {
            pthread_join(thread, nil)
            running = false
        }
        try outcome.get()
    }
}

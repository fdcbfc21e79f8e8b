#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthCore

/// Runs work on a few POSIX threads: `pull`, to fetch layers side by side,
/// and `ContainerStore.all`, to read many records. The CLI process never
/// clones namespaces on them, each task touches only its own staging file
/// and connection or only reads, and every thread is joined before
/// `forEach` returns, so threads are safe here.
enum Parallel {
    /// Calls `body(i)` for every `i` in `0..<count`, at most `width` at a
    /// time, and returns when all have finished.
    static func forEach(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        if count == 1 || width <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        let next = Mutex(0)
        let worker: @Sendable () -> Void = {
            while true {
                let i = next.withLock { (n: inout Int) -> Int in
                    defer { n += 1 }; return n
                }
                if i >= count { return }
                body(i)
            }
        }
        // A thread that cannot be made runs its worker here, which takes
        // whatever the others have not: every index is done either way.
        let workers = (0..<min(width, count)).map { _ in BackgroundWork { worker() } }
        for work in workers { try? work.wait() }
    }
}

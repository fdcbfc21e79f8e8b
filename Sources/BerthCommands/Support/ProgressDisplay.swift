#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthEngine

/// Docker's progress display for `pull` and `push`. On a terminal each
/// layer has one line, rewritten in place with ANSI cursor moves
/// (`Downloading [=====>    ]  1.2MB/2.0MB`, then `Pull complete`); on
/// anything else each change of a layer's state is one plain line and byte
/// counts are left out.
final class ProgressDisplay: Sendable {
    private struct State {
        var lineOf: [String: Int] = [:]
        var lines = 0
        var lastText: [String: String] = [:]
        var lastStatus: [String: String] = [:]
    }
    private let fd: FileDescriptor
    private let terminal: Bool
    private let quiet: Bool
    private let state = Mutex(State())

    init(fd: FileDescriptor, quiet: Bool = false) {
        self.fd = fd
        self.terminal = isatty(fd.rawValue) == 1
        self.quiet = quiet
    }

    /// Statuses that carry a byte count: only a terminal shows them.
    private static let progressStatuses: Set<String> = ["Downloading", "Extracting", "Pushing"]

    func handle(_ event: TransferEvent) {
        guard !quiet else { return }
        state.withLock { s in
            switch event {
            case .line(let text):
                write(text + "\n")
                s.lines += 1
            case .layer(let id, let status, let current, let total):
                if !terminal {
                    guard !Self.progressStatuses.contains(status), s.lastStatus[id] != status else { return }
                    s.lastStatus[id] = status
                    write("\(id): \(status)\n")
                    return
                }
                var text = "\(id): \(status)"
                if let current { text += " " + Self.bar(current, total) }
                guard s.lastText[id] != text else { return }
                s.lastText[id] = text
                if let line = s.lineOf[id] {
                    let up = s.lines - line
                    write("\u{1b}[\(up)A\r\u{1b}[2K\(text)\r\u{1b}[\(up)B")
                } else {
                    s.lineOf[id] = s.lines
                    s.lines += 1
                    write("\u{1b}[2K\(text)\n")
                }
            }
        }
    }

    /// `[=========>          ]  1.05MB/2.14MB`, as Docker draws it.
    static func bar(_ current: Int64, _ total: Int64?) -> String {
        guard let total, total > 0 else { return Format.size(current) }
        let filled = Int(min(50, max(0, Double(current) / Double(total) * 50)))
        let box = "[" + String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: max(0, 50 - filled)) + "]"
        let numbers = Format.size(current) + "/" + Format.size(total)
        return box + " " + String(repeating: " ", count: max(0, 8 - Format.size(current).count)) + numbers
    }

    private func write(_ text: String) { try? fd.write(text) }
}

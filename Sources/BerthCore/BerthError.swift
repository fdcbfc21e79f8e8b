/// The one error type every module's failures are gathered into.
///
/// The message names the object, the failing call and the fix, so that a user
/// reading one line on stderr knows what to do next. `exitCode` follows
/// Docker: 125 for an engine error, 126 when a command cannot be invoked,
/// 127 when it is not found.
public struct BerthError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The line printed after `Error: `.
    public var message: String
    /// The process exit code Docker would use for this failure.
    public var exitCode: Int32
    /// A failure that happened while cleaning up after this one; kept so that
    /// neither is lost (youki keeps both the same way).
    public var cleanup: String?

    /// Creates an error with a complete message.
    public init(_ message: String, exitCode: Int32 = 125, cleanup: String? = nil) {
        self.message = message
        self.exitCode = exitCode
        self.cleanup = cleanup
    }

    /// The text shown to the user.
    public var description: String {
        guard let cleanup else { return message }
        return "\(message) (and while cleaning up: \(cleanup))"
    }

    /// A failed system call on an object, e.g. `mount overlay on /x: EBUSY (…)`.
    public static func syscall(_ call: String, _ object: String, _ errno: Errno, fix: String? = nil) -> BerthError {
        var text = "\(call) \(object): \(errno)"
        if let fix { text += "; \(fix)" }
        return BerthError(text)
    }

    /// A command line that does not parse: Docker prints these with exit 125.
    public static func usage(_ message: String) -> BerthError {
        BerthError(message, exitCode: 125)
    }

    /// Returns the error with a cleanup failure recorded beside it.
    public func withCleanup(_ other: Error) -> BerthError {
        var copy = self
        copy.cleanup = "\(other)"
        return copy
    }
}

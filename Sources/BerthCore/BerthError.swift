/// The one error type every module's failures are gathered into.
///
/// The message names the object, the failing call and the fix, so that a user
/// reading one line on stderr knows what to do next. The `kind` says what
/// went wrong in a way code can branch on (retries, tests, exit codes) without
/// reading the text; `errno` keeps the system's answer when a call failed,
/// as `ContainerizationError` and crun's `libcrun_error_t` do.
public struct BerthError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for code to branch on. The exit code is derived from
    /// it in one place, `Kind.exitCode(engine:)`.
    public enum Kind: String, Sendable, CaseIterable {
        /// A flag that does not parse or is unknown (Docker: 125 everywhere).
        case usage
        /// The wrong number of arguments, or an unknown command (Docker: 1).
        case arguments
        /// A value the user gave that Berth refuses (a bad name, a limit out of range).
        case invalidArgument
        /// No such container, image, network, volume, tag or blob.
        case notFound
        /// The name, port or object is taken.
        case conflict
        /// The object is in the wrong state for the verb (paused, not running…).
        case invalidState
        /// Something Berth needs is not available here (a runtime, a kernel feature, a registry).
        case unavailable
        /// Refused by the system or a registry (EPERM, EACCES, 401, 403).
        case permission
        /// Data that does not match its digest or does not parse: refused, never stored.
        case integrity
        /// A system call or file operation failed.
        case io
        /// Any other failure of the engine.
        case failed
        /// The container's command exists but cannot be run (Docker: 126).
        case cannotInvoke
        /// The container's command does not exist (Docker: 127).
        case commandNotFound
        /// Ctrl-C ended the command (130, as a shell reports SIGINT).
        case interrupted

        /// Docker's exit code for this kind. `engine` is what the command
        /// exits with for an engine failure: Docker's CLI uses 125 in `run`
        /// and `create` (so a script can tell Docker's failure from the
        /// container's exit code) and 1 in every other command.
        public func exitCode(engine: Int32) -> Int32 {
            switch self {
            case .usage: return ExitCode.usage
            case .arguments: return ExitCode.general
            // `run` reports a command that cannot start as 126/127; Docker's
            // `start` and the rest report it as any other engine failure.
            case .cannotInvoke: return engine == ExitCode.runEngine ? ExitCode.cannotInvoke : engine
            case .commandNotFound: return engine == ExitCode.runEngine ? ExitCode.commandNotFound : engine
            case .interrupted: return ExitCode.interrupted
            case .invalidArgument, .notFound, .conflict, .invalidState, .unavailable, .permission,
                .integrity, .io, .failed:
                return engine
            }
        }
    }

    /// What went wrong.
    public var kind: Kind
    /// The line printed after `Error: `.
    public var message: String
    /// The errno of the failed call, when one failed.
    public var errno: Errno?
    /// A failure that happened while cleaning up after this one; kept so that
    /// neither is lost (youki keeps both the same way).
    public var cleanup: String?
    /// An exit code fixed by the thrower (a script's `[`, a runtime's
    /// verdict); nil derives it from the kind.
    private var fixedExitCode: Int32?

    /// Creates an error of a kind with a complete message.
    public init(_ kind: Kind, _ message: String, errno: Errno? = nil) {
        self.kind = kind
        self.message = message
        self.errno = errno
    }

    /// Creates an engine failure (`.failed`), or one whose exit code the
    /// thrower knows.
    public init(_ message: String, exitCode: Int32? = nil, cleanup: String? = nil) {
        self.kind = .failed
        self.message = message
        self.fixedExitCode = exitCode
        self.cleanup = cleanup
    }

    /// The exit code outside any command (a global flag, the REPL): the
    /// fixed one, or the kind's with Docker's `run`/`create` engine code.
    public var exitCode: Int32 { exitCode(engine: ExitCode.runEngine) }

    /// The exit code inside a command whose engine failures exit `engine`.
    public func exitCode(engine: Int32) -> Int32 { fixedExitCode ?? kind.exitCode(engine: engine) }

    /// The error with its exit code settled for a command whose engine
    /// failures exit `engine`, so that callers further out (scripts' `$?`)
    /// see what the command exited with.
    public func settled(engine: Int32) -> BerthError {
        var copy = self
        copy.fixedExitCode = exitCode(engine: engine)
        return copy
    }

    /// The text shown to the user.
    public var description: String {
        guard let cleanup else { return message }
        return "\(message) (and while cleaning up: \(cleanup))"
    }

    /// A failed system call on an object, e.g. `mount overlay on /x: EBUSY (…)`.
    /// EPERM and EACCES are `.permission`, ENOENT `.notFound`, the rest `.io`.
    public static func syscall(_ call: String, _ object: String, _ errno: Errno, fix: String? = nil) -> BerthError {
        var text = "\(call) \(object): \(errno)"
        if let fix { text += "; \(fix)" }
        let kind: Kind =
            switch errno {
            case .EPERM, .EACCES: .permission
            case .ENOENT: .notFound
            default: .io
            }
        return BerthError(kind, text, errno: errno)
    }

    /// A flag that does not parse: Docker prints these with exit 125.
    public static func usage(_ message: String) -> BerthError { BerthError(.usage, message) }
    /// The wrong number of arguments: Docker exits 1.
    public static func arguments(_ message: String) -> BerthError { BerthError(.arguments, message) }
    /// A value Berth refuses.
    public static func invalid(_ message: String) -> BerthError { BerthError(.invalidArgument, message) }
    /// A missing object.
    public static func notFound(_ message: String) -> BerthError { BerthError(.notFound, message) }
    /// A taken name, port or object.
    public static func conflict(_ message: String) -> BerthError { BerthError(.conflict, message) }
    /// An object in the wrong state for the verb.
    public static func invalidState(_ message: String) -> BerthError { BerthError(.invalidState, message) }
    /// Something unavailable on this machine or network.
    public static func unavailable(_ message: String) -> BerthError { BerthError(.unavailable, message) }
    /// A refusal by the system or a registry.
    public static func permission(_ message: String) -> BerthError { BerthError(.permission, message) }
    /// Data that does not match its digest or does not parse.
    public static func integrity(_ message: String) -> BerthError { BerthError(.integrity, message) }

    /// A container's first process that did not start, from the code the
    /// monitor reported: 126 cannot be invoked, 127 not found, else failed.
    public static func startFailure(code: Int32, message: String) -> BerthError {
        switch code {
        case ExitCode.cannotInvoke: BerthError(.cannotInvoke, message)
        case ExitCode.commandNotFound: BerthError(.commandNotFound, message)
        default: BerthError(.failed, message)
        }
    }

    /// Returns the error with a cleanup failure recorded beside it.
    public func withCleanup(_ other: Error) -> BerthError {
        var copy = self
        copy.cleanup = "\(other)"
        return copy
    }

    /// Returns the error with another exit code (a runtime's 126/127 verdict).
    public func with(exitCode: Int32) -> BerthError {
        var copy = self
        copy.fixedExitCode = exitCode
        return copy
    }
}

/// Docker's exit codes, in one place.
public enum ExitCode {
    /// A flag that does not parse (cobra's flag errors in Docker's CLI).
    public static let usage: Int32 = 125
    /// An engine failure in `run` and `create`.
    public static let runEngine: Int32 = 125
    /// An engine failure in every other command, and a wrong argument count.
    public static let general: Int32 = 1
    /// The container's command cannot be invoked.
    public static let cannotInvoke: Int32 = 126
    /// The container's command is not found.
    public static let commandNotFound: Int32 = 127
    /// Ended by Ctrl-C.
    public static let interrupted: Int32 = 130
}

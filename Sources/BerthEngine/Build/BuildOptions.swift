#if canImport(Glibc)
import Glibc
#endif

/// What `build` was asked for.
public struct BuildOptions {
    /// The Dockerfile's text.
    public var dockerfile: String
    /// The context directory (a tar on stdin is extracted to one first).
    public var contextPath: String
    /// `-t`, in order.
    public var tags: [ImageReference] = []
    /// `--build-arg K=V` (or `K` alone: from the environment), in order.
    public var buildArgs: [(String, String)] = []
    /// `--target STAGE`.
    public var target: String?
    /// `--no-cache`.
    public var noCache = false
    /// `--label K=V`, applied to the final stage.
    public var labels: [(String, String)] = []
    /// `-q`: only the image ID; RUN output is not shown.
    public var quiet = false
    /// `--isolation` and `--storage` of RUN's containers.
    public var isolation: String?
    public var storage: String?
    /// `--network` of RUN's containers (the default bridge when nil).
    public var network: String?
    /// Makes an image reference (FROM, COPY --from) available locally and
    /// returns what to resolve: the command pulls a missing image, or every
    /// one with `--pull`. Nil: only images already in the store.
    public var fetchImage: ((String) throws(BerthError) -> String)?
    /// Whether the build begins with "Sending build context to Docker
    /// daemon": the CLI's line; through the API the client prints its own.
    public var announceContext = true
    /// Keep RUN's containers (the API's `rm=0`, docker-py's default), as
    /// the classic builder does: they are then the user's, not the build's
    /// (never swept as a killed build's leftovers).
    public var keepContainers = false

    public init(dockerfile: String, contextPath: String) {
        self.dockerfile = dockerfile
        self.contextPath = contextPath
    }
}

/// Where a build writes: its step lines and the RUN containers' streams.
public struct BuildOutput {
    /// Prints one line (with its newline) on standard output.
    public var line: (String) -> Void
    /// Prints a warning on standard error.
    public var warn: (String) -> Void
    /// The descriptors RUN output is relayed to.
    public var stdoutFD: Int32
    public var stderrFD: Int32

    public init(line: @escaping (String) -> Void, warn: @escaping (String) -> Void, stdoutFD: Int32, stderrFD: Int32) {
        self.line = line
        self.warn = warn
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
    }
}

import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A `berth system service` on a temporary socket over a temporary store
/// (busybox imported), driven by the real docker CLI through DOCKER_HOST.
/// `withService` kills it and cleans the store up even when a test fails.
final class APIService {
    let store: LifecycleStore
    let dir: String
    let socket: String
    /// Variables the service runs with besides the test's own.
    let environment: [String: String]
    private(set) var pid: pid_t = 0

    init(environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) {
        self.environment = environment
        store = LifecycleStore(sourceLocation: sourceLocation)
        dir = makeTempDirectory("api")
        socket = dir + "/api.sock"
        start(sourceLocation: sourceLocation)
    }

    /// Starts the service (again); waits until it answers `/_ping`.
    func start(sourceLocation: SourceLocation = #_sourceLocation) {
        let argv =
            ["env"] + environment.sorted { $0.key < $1.key }.map { $0.key + "=" + $0.value } + [
                berthBinary, "--root", store.root, "system", "service", "--time", "0", "unix://" + socket,
            ]
        let script =
            "exec >>\(shellQuote(dir + "/service.log")) 2>&1 </dev/null; exec " + argv.map(shellQuote).joined(separator: " ")
        let words: [String] = ["/bin/sh", "-c", script]
        let cArgs: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var attrs = posix_spawnattr_t()
        posix_spawnattr_init(&attrs)
        defer { posix_spawnattr_destroy(&attrs) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attrs, &empty)
        posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETSIGMASK))
        #expect(posix_spawn(&pid, "/bin/sh", nil, &attrs, cArgs, environ) == 0, sourceLocation: sourceLocation)
        let up = eventually(10) { self.curl("/_ping").stdout == "OK" }
        #expect(up, "the service did not answer: \(readFile(dir + "/service.log"))", sourceLocation: sourceLocation)
    }

    /// Sends a signal to the service and reaps it.
    func stop(signal: Int32 = SIGTERM) {
        guard pid > 0 else { return }
        kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        pid = 0
    }

    /// `docker ARGS…` against the service; container IDs it prints are
    /// remembered for the store's cleanup checks.
    @discardableResult
    func docker(_ args: String..., stdin: String? = nil, env: [String: String] = [:]) -> ProcessResult {
        docker(args, stdin: stdin, env: env)
    }

    @discardableResult
    func docker(_ args: [String], stdin: String? = nil, env: [String: String] = [:]) -> ProcessResult {
        var environment = env
        environment["DOCKER_HOST"] = "unix://" + socket
        environment["DOCKER_CONFIG"] = dir + "/docker-config"
        let result = runProcess(["timeout", "60", "docker"] + args, stdin: stdin, environment: environment)
        store.note(result.stdout)
        return result
    }

    /// A raw request with curl: `-s -w '\n%{http_code}'` appended, so the
    /// status is the last line of stdout.
    @discardableResult
    func curl(_ path: String, _ extra: String...) -> ProcessResult {
        runProcess(["curl", "-s", "--max-time", "20", "--unix-socket", socket] + extra + ["http://localhost" + path])
    }

    func cleanUp(sourceLocation: SourceLocation = #_sourceLocation) {
        stop()
        store.cleanUp(sourceLocation: sourceLocation)
        removeTree(dir)
    }
}

/// Runs `body` with a service on a fresh store; always stops and checks.
func withService(
    environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (APIService) throws -> Void
) rethrows {
    let service = APIService(environment: environment, sourceLocation: sourceLocation)
    defer { service.cleanUp(sourceLocation: sourceLocation) }
    try body(service)
}

/// The docker CLI is on this machine (make deps installs it).
let hasDockerCLI = runProcess(["sh", "-c", "command -v docker"]).status == 0

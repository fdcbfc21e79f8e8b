#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine
import CBerthLinux

/// Drives an OCI runtime (runc, crun, …) through its command line, with its
/// state kept inside the store (`ROOT/runtime/NAME`) and its own log file,
/// so its messages never mix with the container's output.
public struct RuntimeCLI: Sendable {
    public let binary: String
    public let stateRoot: String
    public let logFile: String

    public init(binary: String, layout: StoreLayout, containerDirectory: String) {
        self.binary = binary
        self.stateRoot = layout.root + "/runtime/" + FileSystem.baseName(binary)
        self.logFile = containerDirectory + "/runtime.log"
    }

    /// crun refuses hybrid cgroup hosts (v1 controllers plus a cgroup2 mount)
    /// even with cgroups disabled; like PEERS.md says, it runs in a private
    /// mount namespace where the cgroup2 mount is hidden, which changes
    /// nothing on the host.
    var needsHybridWorkaround: Bool {
        FileSystem.baseName(binary).hasPrefix("crun") && FileSystem.exists("/sys/fs/cgroup/unified/cgroup.procs")
            && !FileSystem.exists("/sys/fs/cgroup/cgroup.controllers")
    }

    /// Starts `RUNTIME --root STATE --log LOG ARGS` with the given stdio; returns its PID.
    public func spawn(_ args: [String], cwd: String? = nil, stdio: [Int32] = [-1, -1, -1]) throws(BerthError) -> Int32 {
        try FileSystem.makeDirectories(stateRoot, mode: 0o700)
        var argv = [binary, "--root", stateRoot, "--log", logFile, "--log-format", "json"] + args
        if needsHybridWorkaround {
            argv =
                [
                    "/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                    "umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$@\"", "sh",
                ] + argv
        }
        let arena = CStringArena()
        defer { arena.free() }
        let pid = berth_fork_exec(
            argv[0], arena.mutableArray(argv), cwd.map { arena.string($0) },
            stdio[0], stdio[1], stdio[2])
        guard pid > 0 else { throw .syscall("run", binary, .current) }
        return pid
    }

    /// Runs the runtime to completion; throws its last logged error on failure.
    public func run(_ args: [String], cwd: String? = nil, stdio: [Int32] = [-1, -1, -1]) throws(BerthError) {
        let pid = try spawn(args, cwd: cwd, stdio: stdio)
        let status = waitForChild(pid) ?? 0
        guard status == 0 else {
            throw BerthError("\(FileSystem.baseName(binary)) \(args.first ?? ""): \(lastError() ?? "exit status \(status >> 8)")")
        }
    }

    /// The last `msg` of level error in the runtime's JSON log.
    public func lastError() -> String? {
        let lines = ((try? FileSystem.readText(logFile)) ?? "").split(separator: "\n")
        for line in lines.reversed() {
            guard let json = try? JSONParser.parse(String(line)) else { continue }
            if json["level"]?.stringValue == "error", let msg = json["msg"]?.stringValue { return msg }
        }
        return nil
    }

    /// Docker's exit codes for a runtime's start failure: 127 not found, 126 not executable.
    public static func exitCode(for message: String) -> Int32 {
        let lower = message.lowercased()
        if lower.contains("not found") || lower.contains("no such file") { return 127 }
        if lower.contains("permission denied") || lower.contains("exec format") { return 126 }
        return 125
    }
}

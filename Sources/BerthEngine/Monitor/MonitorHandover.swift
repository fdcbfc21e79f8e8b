#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The hand-over from the forked Swift monitor to `berth-monitor`, a small
/// C program (Sources/berth-monitor) that relays and logs for as long as
/// PID 1 runs, in the same process.
///
/// Why: a monitor forked from the CLI keeps the CLI's relocated data, the
/// Swift runtime's caches and its heap, about 900 kB of its own per running
/// container against conmon's 350 kB (docs/benchmarks.md); a fresh process
/// of 100 lines of relay needs about a tenth of that. Why not from the
/// start: the start (namespaces, cgroups, the record, seccomp) is the
/// engine's Swift, and a short container (`run --rm … true`) should not pay
/// two more execs. So the Swift monitor relays first, and after `delayMs`
/// of PID 1's life, at the first moment nothing is in flight, it execs
/// `berth-monitor` with its descriptors; PID 1 stays this process's child
/// and the record's MonitorPid stays true. When PID 1 exits, `berth-monitor`
/// execs `berth --root ROOT __monitor-exit ID CODE …` in the process again,
/// which records the exit as before (`Monitor.finishAfterHandover`).
enum MonitorHandover {
    /// How long PID 1 runs before the hand-over, in ms (nil: never).
    /// `BERTH_MONITOR_HANDOVER_MS` sets it (`off`: never; the tests use 0
    /// to hand over at once).
    static let delayMs: Int64? = {
        guard let value = getenv("BERTH_MONITOR_HANDOVER_MS") else { return 200 }
        let text = String(cString: value)
        if text == "off" { return nil }
        guard let ms = Int64(text), ms >= 0 else { return 200 }
        return ms
    }()

    /// `berth-monitor` takes at most this many attach clients on its
    /// command line (MAX_LIST in main.c); with more the Swift monitor keeps
    /// relaying until fewer are attached.
    static let maxClients = 1000

    /// The arguments `berth-monitor` takes; the file must contain this text
    /// (main.c's `protocol`), or the monitor does not hand over.
    static let protocolToken = MonitorHandoverProtocol.token

    /// `berth-monitor` beside this executable, opened when the monitor
    /// starts, so an upgrade that replaces the file later cannot give it a
    /// program of another build (its protocol is checked at the hand-over,
    /// not here: a short container never pays for the check); -1 when it is
    /// not installed.
    static func openExecutable() -> Int32 {
        guard delayMs != nil, let me = FileSystem.readLink("/proc/self/exe") else { return -1 }
        // `/proc/self/exe` of a replaced binary reads `PATH (deleted)`: its directory is the same.
        return open(FileSystem.parent(of: me) + "/berth-monitor", O_RDONLY | O_CLOEXEC)
    }

    /// Whether the file holds `protocolToken`.
    static func speaksThisProtocol(_ fd: Int32) -> Bool { berth_file_contains(fd, protocolToken) == 1 }

    /// When to hand over (monotonic ms), or nil when it will not happen.
    static func deadline(executable: Int32) -> Int64? {
        guard let delayMs, executable >= 0 else { return nil }
        return Timestamp.monotonicMilliseconds() + delayMs
    }

    /// Execs `berth-monitor` in this process; returns only if that failed,
    /// with every descriptor as it was (the Swift relay goes on).
    static func exec(_ session: MonitorSession, child: Int32, health: pid_t) {
        let program = session.monitorExecutable
        guard program >= 0, speaksThisProtocol(program) else { return }
        let (relayArguments, relayFDs) = session.io.handoverArguments()
        let config = session.container.logConfig
        let driver: Int
        switch config.driver {
        case .jsonFile: driver = 0
        case .k8sFile: driver = 1
        case .none: driver = 2
        }
        // `--root ROOT __monitor ID` first, as the Swift monitor shows in ps
        // (and as `Lifecycle.monitorProcesses` finds a monitor).
        var args = [
            "berth-monitor", "--root", session.store.layout.root, "__monitor", session.container.id, "--child",
            String(child),
        ]
        args += relayArguments
        args += [
            "--log", session.containerDirectory + "/" + StoreLayout.containerLog, "--log-driver", String(driver),
            "--log-max-size", String(config.maxSize ?? 0), "--log-max-file", String(config.maxFile),
            "--health", String(health), "--backoff", String(session.previousBackoffMs),
        ]
        // A partial log line (a shell's prompt) goes along in an unnamed
        // file: 8 bytes of length (little-endian) and the bytes, stdout then stderr.
        var partialFile: Int32 = -1
        if session.log?.hasPartial == true {
            var blob: [UInt8] = []
            for stderr in [false, true] {
                let bytes = session.log?.partial(stderr: stderr) ?? []
                withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { blob += $0 }
                blob += bytes
            }
            partialFile = berth_memfd_holding("berth-partial", blob, blob.count)
            guard partialFile >= 0 else { return }
            args += ["--log-partial", String(partialFile)]
        }
        defer { if partialFile >= 0 { close(partialFile) } }
        let held = session.portReservations + session.heldOpen + (session.liveness >= 0 ? [session.liveness] : [])
        // main.c's MAX_LIST: more and it could not take them; relay on here.
        guard held.count < maxClients else { return }
        if !held.isEmpty { args += ["--hold", held.map(String.init).joined(separator: ",")] }
        // This executable (berth or berth-service), kept open for the exit:
        // it runs even if the file is replaced meanwhile (an upgrade).
        let exe = open("/proc/self/exe", O_RDONLY)
        guard exe >= 0 else { return }
        defer { close(exe) }  // only reached if the exec failed
        args += ["--exe", String(exe)]
        let handed = relayFDs + held + (partialFile >= 0 ? [partialFile] : [])
        let saved = handed.map { fcntl($0, F_GETFD) }
        for fd in handed { _ = fcntl(fd, F_SETFD, 0) }
        // The log's file is close-on-exec; its partial lines went along above.
        let argv = args.map { strdup($0) } + [nil]
        fexecve(program, argv, environ)
        argv.forEach { free($0) }
        for (fd, flags) in zip(handed, saved) where flags >= 0 { _ = fcntl(fd, F_SETFD, flags) }
    }

    /// `--clients 5:9,7`: each client's fd and, after a colon, the unnamed
    /// file holding the output it had not read. Nil if malformed.
    static func parseClients(_ text: String) -> [(fd: Int32, pending: Int32)]? {
        var result: [(fd: Int32, pending: Int32)] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, let fd = Int32(parts[0]), fd >= 0 else { return nil }
            let pending = parts.count == 2 ? Int32(parts[1]) : -1
            guard let pending, pending >= -1 else { return nil }
            result.append((fd, pending))
        }
        return result
    }

    /// The bytes of a pending-output file, which is then closed.
    static func readPending(_ fd: Int32) -> [UInt8] {
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { out += buffer[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            return out
        }
    }
}

/// What `berth-monitor --protocol` prints, and what the hand-over looks for
/// in the file: public for the tests that hold the two builds to it.
public enum MonitorHandoverProtocol {
    public static let token = "berth-monitor protocol 2"
}

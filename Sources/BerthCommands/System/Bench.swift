#if canImport(Glibc)
import Glibc
#endif
import BerthEngine
import CBerthLinux

/// `berth bench`: the lifecycle measured over a matrix of isolation backends
/// × storage drivers × images, with a table, CSV, JSON and an SVG chart.
struct BenchCommand: Command {
    static let isolation = Flag.string(
        "isolation", value: "list", help: "Isolation backends, comma-separated (default: the store's default)",
        completion: .pluginsOfKind("isolation"))
    static let storage = Flag.string(
        "storage", value: "list", help: "Storage drivers, comma-separated (default: the store's default)",
        completion: .pluginsOfKind("storage"))
    static let image = Flag.string(
        "image", value: "list", help: "Images, comma-separated", completion: .images, default: "busybox")
    static let iterations = Flag.int("iterations", short: "n", help: "Containers per combination", default: "10")
    static let csv = Flag.string("csv", value: "file", help: "Write every sample as CSV", completion: .files)
    static let json = Flag.string("json", value: "file", help: "Write the summary as JSON", completion: .files)
    static let svg = Flag.string("svg", value: "file", help: "Write a bar chart of the medians as SVG", completion: .files)

    let spec = CommandSpec(
        "bench", summary: "Measure create, start, exec, stop, rm and disk use across backends, drivers and images",
        flags: [Self.isolation, Self.storage, Self.image, Self.iterations, Self.csv, Self.json, Self.svg], max: 0,
        details:
            "Each iteration creates a container running `sleep 3600`, starts it, runs a no-op exec\n(namespaces only), stops it with -t 0 and removes it, timing each step in-process.\nDisk is the container's own layer right after create. Ctrl-C removes what it made."
    )

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let n = try args.value(Self.iterations) ?? 10
        guard n > 0 else { throw BerthError("bench: -n must be at least 1") }
        let config = StoreConfig.load(lifecycle.layout)
        let combos = BenchMatrix(
            isolations: list(args[Self.isolation], config.defaultIsolation(ctx.registry)),
            storages: list(args[Self.storage], config.defaultStorage(ctx.registry)),
            images: list(args[Self.image], "busybox")
        ).combinations
        for c in combos { _ = try lifecycle.images.resolve(c.image); _ = try lifecycle.registry.isolationBackend(c.backend) }
        // SIGINT/SIGTERM only note the request (`Interruption`), so bench can
        // remove what it made; the previous handlers (the REPL's) come back after.
        let previous = installInterruptHandler()
        defer { signal(SIGINT, previous.int); signal(SIGTERM, previous.term) }
        var runner = BenchRunner(lifecycle: lifecycle, ctx: ctx, total: combos.count * n)
        defer { runner.cleanup() }
        for combo in combos {
            for _ in 0..<n {
                if Interruption.requested {
                    runner.cleanup(); ctx.warn("bench: interrupted; everything it made was removed"); return 130
                }
                try runner.iteration(combo)
            }
        }
        runner.finishProgress()
        let summary = BenchSummary(samples: runner.samples)
        ctx.printRaw(summary.table())
        if let path = args[Self.csv] {
            try AtomicFile.write(path) { (s) throws(BerthError) in try s.write(Array(summary.csv().utf8)) }
        }
        if let path = args[Self.json] {
            try AtomicFile.write(path) { (s) throws(BerthError) in try s.write(Array(summary.json().pretty().utf8)) }
        }
        if let path = args[Self.svg] {
            try AtomicFile.write(path) { (s) throws(BerthError) in try s.write(Array(BenchChart(summary: summary).svg().utf8)) }
        }
        return 0
    }

    private func list(_ value: String?, _ fallback: String) -> [String] {
        (value ?? fallback).split(separator: ",").map(String.init)
    }

    private func installInterruptHandler() -> (int: sighandler_t?, term: sighandler_t?) {
        Interruption.clear()
        let handler: @convention(c) (Int32) -> Void = { _ in Interruption.request() }
        let previous = (int: signal(SIGINT, handler), term: signal(SIGTERM, handler))
        // A parent may have started us with them blocked (a test runner does).
        berth_unblock_signals_only([SIGINT, SIGTERM], 2)
        return previous
    }
}

/// One combination of the matrix.
struct BenchCombo: Hashable, Sendable {
    var isolation: String
    var storage: String
    var image: String
    var label: String { "\(isolation)/\(storage)/\(image)" }
    /// The backend id (`oci` for `oci:runc`).
    var backend: String { String(isolation.split(separator: ":").first ?? "") }
}

struct BenchMatrix {
    var isolations: [String]
    var storages: [String]
    var images: [String]
    var combinations: [BenchCombo] {
        images.flatMap { img in isolations.flatMap { iso in storages.map { BenchCombo(isolation: iso, storage: $0, image: img) } }
        }
    }
}

/// A measured value: milliseconds for steps, bytes for `disk`.
struct BenchSample: Sendable {
    var combo: BenchCombo
    var operation: String
    var value: Double
}

/// Runs iterations and remembers what it made, to remove it on any exit.
struct BenchRunner {
    let lifecycle: Lifecycle
    let ctx: CommandContext
    let total: Int
    var samples: [BenchSample] = []
    var made: Set<String> = []
    var done = 0

    init(lifecycle: Lifecycle, ctx: CommandContext, total: Int) {
        self.lifecycle = lifecycle
        self.ctx = ctx
        self.total = total
    }

    mutating func iteration(_ combo: BenchCombo) throws(BerthError) {
        var o = CreateOptions(image: combo.image)
        o.command = ["sleep", "3600"]
        o.isolation = combo.isolation
        o.storage = combo.storage
        let factory = ContainerFactory(lifecycle: lifecycle, environment: ctx.environment, warn: { _ in })
        let (container, createMs) = try timed { () throws(BerthError) in try factory.create(o) }
        made.insert(container.id)
        record(combo, "create", createMs)
        record(combo, "disk", Double(FileSystem.diskUsage(lifecycle.layout.container(container.id))))
        record(combo, "start", try timed { () throws(BerthError) in try lifecycle.start(container.id) }.1)
        if try lifecycle.registry.isolationBackend(combo.backend).isolates {
            var e = ExecOptions(command: ["true"])
            e.interactive = false
            let null = open("/dev/null", O_RDWR | O_CLOEXEC)
            defer { close(null) }
            record(
                combo, "exec",
                try timed { () throws(BerthError) in
                    try Executor(lifecycle: lifecycle).run(container.id, e, stdio: [null, null, null])
                }.1)
        }
        record(combo, "stop", try timed { () throws(BerthError) in try lifecycle.stop(container.id, timeout: 0) }.1)
        record(combo, "rm", try timed { () throws(BerthError) in try lifecycle.remove(container.id, force: true) }.1)
        made.remove(container.id)
        done += 1
        progress()
    }

    private mutating func record(_ combo: BenchCombo, _ op: String, _ value: Double) {
        samples.append(BenchSample(combo: combo, operation: op, value: value))
    }

    private func timed<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> (T, Double) {
        let t0 = Timestamp.now.asDouble
        let result = try body()
        return (result, (Timestamp.now.asDouble - t0) * 1000)
    }

    /// `[#########.........] 12/40` on stderr when it is a terminal.
    private func progress() {
        guard isatty(ctx.stderr.rawValue) == 1 else { return }
        let width = 30
        let filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        try? ctx.stderr.write("\r[\(bar)] \(done)/\(total)")
    }

    func finishProgress() {
        if isatty(ctx.stderr.rawValue) == 1 { try? ctx.stderr.write("\r\u{1b}[K") }
    }

    /// Removes every container this run made and has not removed yet.
    mutating func cleanup() {
        for id in made { try? lifecycle.remove(id, force: true) }
        made = []
    }
}

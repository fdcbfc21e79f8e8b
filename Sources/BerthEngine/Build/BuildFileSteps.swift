#if canImport(Glibc)
import Glibc
#endif
import BerthCore

extension Builder {
    // MARK: RUN

    /// RUN: a real container of the chosen backend and driver, its output
    /// relayed as it comes, its changes committed as one layer.
    func runStep(_ ins: Instruction, _ s: inout StageState) throws(BerthError) {
        let command = try ins.execForm() ?? s.shell + [ins.text]
        let args = s.runArgs
        let prefix = args.isEmpty ? "" : "|\(args.count) " + args.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + " "
        let createdBy = prefix + command.joined(separator: " ")
        var env = args.map { "\($0.0)=\($0.1)" }
        let declared = Set(s.args.map(\.0))
        for (k, v) in options.buildArgs where BuildArgs.isProxy(k) && !declared.contains(k) { env.append("\(k)=\(v)") }
        try cachedStep(&s, key: "RUN " + createdBy) { (s: inout StageState) throws(BerthError) -> String in
            let parent = try storedParent(&s)
            var o = CreateOptions(image: parent)
            o.command = command
            o.entrypoint = ""
            o.env = env
            o.user = nonEmpty(s.run["User"])
            o.workdir = nonEmpty(s.run["WorkingDir"])
            o.isolation = options.isolation
            o.storage = options.storage
            o.network = options.network
            // RUN's container never runs the image's HEALTHCHECK (Docker turns it off).
            o.healthcheck = HealthConfig(test: ["NONE"])
            o.buildLock = options.keepContainers ? nil : ownership?.path
            // As the classic builder: the image's VOLUMEs are anonymous volumes
            // in RUN's container, so what RUN writes there is not committed
            // (their mount points are).
            if case .object(let volumes)? = s.run["Volumes"] {
                o.mounts = volumes.map { MountSpec(kind: .volume, source: "", target: $0.0) }
            }
            let c = try ContainerFactory(lifecycle: lifecycle, environment: environment, warn: output.warn).create(o)
            defer { if !options.keepContainers { try? lifecycle.remove(c.id, force: true, volumes: true) } }
            say(" ---> Running in \(c.id.prefix(12))")
            let code = try runAttached(c)
            guard code == 0 else {
                throw BerthError(
                    "The command '\(command.joined(separator: " "))' returned a non-zero code: \(code)", exitCode: 1)
            }
            let layer = try ImageCommitter(lifecycle: lifecycle).captureLayer(try lifecycle.containers.load(id: c.id))
            let id = try storeImage(s.config, layer: layer, createdBy: createdBy)
            if !options.keepContainers { say("Removing intermediate container \(c.id.prefix(12))") }
            return id
        }
    }

    /// Starts the container and relays its output until it exits.
    private func runAttached(_ c: Container) throws(BerthError) -> Int32 {
        let started = try lifecycle.start(c.id, waitAttach: true)
        let socket = try AttachClient.connect(containerDirectory: lifecycle.layout.container(started.id))
        defer { close(socket) }
        var client = AttachClient(socket: socket, sendStdin: false, tty: false)
        let null = options.quiet ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1
        defer { if null >= 0 { close(null) } }
        client.stdout = null >= 0 ? null : output.stdoutFD
        client.stderr = null >= 0 ? null : output.stderrFD
        client.signalTarget = started.state.pid
        switch client.run() {
        case .exited(let code): return code
        case .failed(let code, let message): throw .startFailure(code: code, message: message)
        case .interrupted(let signal): throw BerthError(.interrupted, "build interrupted by signal \(signal)")
        case .detached, .lost:
            throw BerthError("lost the connection to the monitor of build container \(c.name); check 'berth ps -a'")
        }
    }

    /// The parent as a stored image (FROM scratch stores its empty config first).
    func storedParent(_ s: inout StageState) throws(BerthError) -> String {
        if let id = s.parentID { return id }
        let config = s.config
        let id = try FileLock.withLock(lifecycle.layout.imageLock) { () throws(BerthError) -> String in
            try lifecycle.images.addImage(config: config)
        }
        s.parentID = id
        return id
    }

    func nonEmpty(_ value: JSON?) -> String? {
        guard let s = value?.stringValue, !s.isEmpty else { return nil }
        return s
    }

    // MARK: a container's root, for COPY, ADD and WORKDIR

    /// Runs `body` on the root of a container made from the parent (never
    /// started) and captures what it wrote as a layer. From scratch, on an
    /// empty staging directory instead.
    func changeFiles(
        _ s: inout StageState, _ body: (String) throws(BerthError) -> Void
    ) throws(BerthError) -> ImageCommitter.CapturedLayer {
        guard let parent = s.parentID else {
            let staging = try lifecycle.layout.makeStaging("build")
            do throws(BerthError) {
                let diff = staging + "/diff"
                if mkdir(diff, 0o755) != 0 { throw .syscall("mkdir", diff, .current) }
                try body(diff)
                return ImageCommitter.CapturedLayer(
                    staging: staging, diffID: try CanonicalLayer.digest(of: diff).diffID,
                    size: FileSystem.contentSize(diff), isEmpty: FileSystem.list(diff).isEmpty)
            } catch {
                try? FileSystem.removeTree(staging)
                throw error
            }
        }
        return try withContainer(image: parent) { (c, root) throws(BerthError) in
            try body(root)
            return try ImageCommitter(lifecycle: lifecycle).captureLayer(c)
        }
    }

    /// A never-started container of `image`, its root mounted, removed after.
    func withContainer<T>(image: String, _ body: (Container, String) throws(BerthError) -> T) throws(BerthError) -> T {
        var o = CreateOptions(image: image)
        o.command = ["#(nop)"]
        o.entrypoint = ""
        o.storage = options.storage
        o.isolation = options.isolation
        o.network = "host"  // never started: no address to lease
        o.buildLock = ownership?.path
        let c = try ContainerFactory(lifecycle: lifecycle, environment: environment, warn: { _ in }).create(o)
        defer { try? lifecycle.remove(c.id, force: true) }
        return try ContainerFiles(lifecycle: lifecycle).withRoot(c) { (root) throws(BerthError) -> T in
            try body(c, root)
        }
    }

    // MARK: WORKDIR

    /// WORKDIR: joined to the previous one, cleaned, created now (root,
    /// 0755, as classic does); an existing directory makes an empty layer.
    func workdirStep(_ ins: Instruction, _ s: inout StageState, _ words: ShellWords) throws(BerthError) {
        let value = try words.word(ins.text)
        guard !value.isEmpty else {
            throw .invalid("dockerfile parse error on line \(ins.line): WORKDIR requires exactly one argument")
        }
        let previous = nonEmpty(s.run["WorkingDir"]) ?? "/"
        let dir = IgnorePatterns.clean(value.hasPrefix("/") ? value : previous + "/" + value)
        let run = s.run.setting("WorkingDir", .string(dir))
        let createdBy = s.shell.joined(separator: " ") + " #(nop) WORKDIR \(dir)"
        try cachedStep(&s, key: createdBy) { (s: inout StageState) throws(BerthError) -> String in
            let layer = try changeFiles(&s) { (root) throws(BerthError) in
                try makeDirectory(root: root, dir)
            }
            return try storeImage(s.config.setting("config", run), layer: layer, createdBy: createdBy)
        }
    }

    /// Creates `path` inside `root` (confined) if it is not a directory yet.
    func makeDirectory(root: String, _ path: String) throws(BerthError) {
        let rootFD: FileDescriptor
        do { rootFD = try FileDescriptor.open(root, O_RDONLY | O_DIRECTORY) } catch { throw .syscall("open", root, error) }
        defer { rootFD.close() }
        if let fd = try? FileDescriptor.openInRoot(rootFD, path, O_RDONLY | O_DIRECTORY) {
            fd.close()
            return
        }
        try TarTransfer.copy(layout: lifecycle.layout, label: "build", into: root) { (writer) throws(BerthError) in
            try writer.append(TarEntry(path: String(path.dropFirst()) + "/", kind: .directory, mode: 0o755))
        }
    }
}

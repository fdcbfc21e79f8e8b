#if canImport(Glibc)
import Glibc
#endif
import BerthCommands
import BerthCore
import BerthEngine

/// The container endpoints that answer at once: list, inspect, create and
/// the state changes, each one engine call as the matching `berth` verb.
struct ContainerRoutes {
    let engine: Engine

    // MARK: list and inspect

    /// `GET /containers/json?all=&limit=&filters=`: `ps`'s selection and filters.
    func list(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let lifecycle = engine.lifecycle
        var list = lifecycle.listedContainers()
        let limit = try r.query.int("limit") ?? -1
        let filter = try ContainerFilter(
            try FilterQuery.flags(r.query["filters"]), containers: lifecycle.containers, images: engine.images)
        filter.select(&list, all: r.query.bool("all") || limit > 0, limit: limit)
        let now = Timestamp.now.asDouble
        let sized = r.query.bool("size")
        return .json(
            .array(
                list.map { c in
                    var row = summary(c, now: now)
                    if sized {
                        // `ps -s`: the writable layer's size, as `berth ps -s`, and with the image's.
                        let rw = writableSize(c)
                        let image = (try? engine.images.load(id: c.image)).map { engine.images.size(of: $0) } ?? 0
                        row = row.setting("SizeRw", .int(rw)).setting("SizeRootFs", .int(rw + image))
                    }
                    return row
                }))
    }

    /// The container's own layer, measured by its storage driver.
    func writableSize(_ c: Container) -> Int64 {
        let layout = engine.layout
        let env = StorageEnvironment(storeRoot: layout.root, driverDirectory: layout.driver(c.storage))
        guard let driver = try? engine.registry.storageDriver(c.storage, env) else { return 0 }
        return driver.size(containerDirectory: layout.container(c.id))
    }

    /// One row of the list, in Docker's `types.Container` shape.
    func summary(_ c: Container, now: Double) -> JSON {
        let published = Set(c.ports.map { "\($0.containerPort)/\($0.proto)" })
        // Exposed ports nothing publishes show as `7000/tcp`, as `ps` shows them.
        let exposed: [JSON] = c.exposedPorts.filter { !published.contains($0) }.compactMap { key in
            let parts = key.split(separator: "/")
            guard parts.count == 2, let port = Int(parts[0]) else { return nil }
            return .object([("PrivatePort", .int(port)), ("Type", .string(String(parts[1])))])
        }
        let ports: [JSON] =
            c.state.isActive
            ? c.ports.map { p in
                .object([
                    ("IP", .string(p.hostIP.isEmpty ? "0.0.0.0" : p.hostIP)), ("PrivatePort", .int(p.containerPort)),
                    ("PublicPort", .int(p.hostPort)), ("Type", .string(p.proto)),
                ])
            } + exposed : []
        let inspect = c.json
        return .object([
            ("Id", .string(c.id)), ("Names", .strings(["/" + c.name])), ("Image", .string(c.imageName)),
            ("ImageID", .string(c.image)), ("Command", .string(c.command.joined(separator: " "))),
            ("Created", .int(c.created.seconds)), ("Ports", .array(ports)),
            ("Labels", .object(c.labels.map { ($0.0, .string($0.1)) })),
            ("State", .string(c.state.status.rawValue)), ("Status", .string(c.statusText(now: now))),
            ("HostConfig", .object([("NetworkMode", .string(c.networkMode))])),
            ("NetworkSettings", .object([("Networks", inspect["NetworkSettings"]?["Networks"] ?? .object([]))])),
            ("Mounts", inspect["Mounts"] ?? .array([])),
        ])
    }

    /// `GET /containers/ID/json`: the stored record (Docker's layout) with
    /// the fields Berth has no notion of at their Docker defaults.
    func inspect(_ ref: String) throws(BerthError) -> APIResponse {
        let c = try engine.lifecycle.containers.find(ref)
        return .json(Self.document(c))
    }

    static func document(_ c: Container) -> JSON {
        var doc = c.json
        var config = doc["Config"] ?? .object([])
        for (key, value) in [
            ("Domainname", JSON.string("")), ("AttachStdin", .bool(false)), ("AttachStdout", .bool(false)),
            ("AttachStderr", .bool(false)), ("StdinOnce", .bool(false)), ("Entrypoint", .null),
            ("Labels", .object([])), ("Volumes", .null), ("OnBuild", .null),
        ] where config[key] == nil {
            config = config.setting(key, value)
        }
        var host = doc["HostConfig"] ?? .object([])
        if host["LogConfig"] == nil {
            host = host.setting("LogConfig", .object([("Type", .string("json-file")), ("Config", .object([]))]))
        }
        if host["RestartPolicy"] == nil {
            host = host.setting("RestartPolicy", .object([("Name", .string("no")), ("MaximumRetryCount", .int(0))]))
        }
        doc = doc.setting("Config", config).setting("HostConfig", host)
        doc = doc.setting("LogPath", .string("")).setting("RestartCount", .int(0))
        return doc
    }

    // MARK: create

    /// `POST /containers/create?name=`: 201 `{"Id", "Warnings"}`.
    func create(_ r: APIRequest) throws(BerthError) -> APIResponse {
        if let platform = r.query["platform"], !platform.isEmpty, platform != "linux/\(ImageConfig.hostArchitecture)",
            platform != "linux"
        {
            throw .invalid("platform \(platform) is not supported here; this host runs linux/\(ImageConfig.hostArchitecture)")
        }
        let options: CreateOptions
        let body = try r.json()
        do {
            options = try CreateRequest.options(body, name: r.query["name"])
        } catch {
            // The flag parsers' refusals (`invalid mode "zz" in -v …`) are
            // the request's fault: dockerd's 400, not a 500.
            throw error.kind == .failed ? BerthError(.invalidArgument, error.message) : error
        }
        let others = try CreateRequest.endpoints(
            body["NetworkingConfig"], network: CreateRequest.nonEmpty(body["HostConfig"]?["NetworkMode"])
        ).others
        let warnings = WarningBox()
        let factory = ContainerFactory(lifecycle: engine.lifecycle, environment: [:], warn: { warnings.add($0) })
        let container = try factory.create(options)
        // More networks than the first: joined as `network connect` joins
        // them; a refusal removes the container, so a create is all or nothing.
        for e in others {
            do throws(BerthError) {
                try engine.lifecycle.connect(
                    network: e.network, container: container.id, ip: e.ip, aliases: e.aliases, links: e.links)
            } catch {
                try? engine.lifecycle.remove(container.id, force: true, volumes: true)
                throw error
            }
        }
        if container.tty, let size = StreamRoutes.size(body["HostConfig"]?["ConsoleSize"]) {
            engine.attaches.setConsoleSize(container.id, size)
        }
        return .json(.object([("Id", .string(container.id)), ("Warnings", .strings(warnings.lines))]), status: 201)
    }

    // MARK: state changes

    /// `POST /containers/ID/start`: 204, or 304 if it already runs. An
    /// attach waiting on this container holds the process until it
    /// connects, as `berth run` does, so no output is lost.
    func start(_ ref: String) throws(BerthError) -> APIResponse {
        let lifecycle = engine.lifecycle
        let found = try lifecycle.containers.find(ref)
        if found.state.isActive && found.state.status != .paused { return .empty(304) }
        let waiting = engine.attaches.beginStart(found.id)
        do {
            _ = try lifecycle.start(
                found.id, waitAttach: waiting, windowSize: engine.attaches.takeConsoleSize(found.id))
        } catch {
            engine.attaches.failed(found.id, error.message)
            if found.autoRemove { try? lifecycle.remove(found.id, force: true) }
            throw error
        }
        engine.attaches.started(found.id)
        return .empty(204)
    }

    /// `POST /containers/ID/stop?t=&signal=`: 204, or 304 if it was not running.
    func stop(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let lifecycle = engine.lifecycle
        let c = try lifecycle.containers.find(ref)
        guard c.state.isActive else { return .empty(304) }
        try lifecycle.stop(c.id, timeout: try r.query.int("t"), signal: try signal(r, default: nil))
        return .empty(204)
    }

    /// `POST /containers/ID/restart?t=`: stop, then start, as `berth restart`.
    func restart(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let lifecycle = engine.lifecycle
        let c = try lifecycle.containers.find(ref)
        try lifecycle.stop(c.id, timeout: try r.query.int("t"), signal: try signal(r, default: nil))
        try lifecycle.start(c.id)
        return .empty(204)
    }

    /// `POST /containers/ID/kill?signal=`: SIGKILL unless named.
    func kill(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let name = try signal(r, default: "SIGKILL") ?? "SIGKILL"
        guard let number = Signals.number(name) else { throw .invalid("Invalid signal: \(name)") }
        try engine.lifecycle.kill(ref, signal: number)
        return .empty(204)
    }

    private func signal(_ r: APIRequest, default value: String?) throws(BerthError) -> String? {
        guard let s = r.query["signal"], !s.isEmpty else { return value }
        guard Signals.number(s) != nil else { throw .invalid("Invalid signal: \(s)") }
        return s
    }

    func pause(_ ref: String) throws(BerthError) -> APIResponse {
        try engine.lifecycle.pause(ref)
        return .empty(204)
    }

    func unpause(_ ref: String) throws(BerthError) -> APIResponse {
        try engine.lifecycle.unpause(ref)
        return .empty(204)
    }

    /// `GET /containers/ID/top`: `{"Titles", "Processes"}`, `berth top`'s table.
    func top(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        if let args = r.query["ps_args"], !args.isEmpty, args != "-ef" {
            throw CreateRequest.unsupported("ps_args other than -ef")
        }
        let c = try engine.lifecycle.containers.find(ref)
        try c.ensureState(for: .top, ref: ref)
        let rows = ProcessListing.rows(Cgroup(path: c.cgroupPath).processes())
        return .json(
            .object([
                ("Titles", .strings(ProcessListing.header)), ("Processes", .array(rows.map { .strings($0) })),
            ]))
    }

    /// `GET /containers/ID/changes`: `berth diff`'s changes as
    /// `[{"Path", "Kind"}]`, Kind 0 changed, 1 added, 2 deleted (dockerd's).
    func changes(_ ref: String) throws(BerthError) -> APIResponse {
        let changes = try ContainerFiles(lifecycle: engine.lifecycle).diff(ref)
        return .json(
            .array(
                changes.map { c in
                    let kind = c.kind == "A" ? 1 : c.kind == "D" ? 2 : 0
                    return .object([("Path", .string(c.path)), ("Kind", .int(kind))])
                }))
    }

    /// `POST /containers/ID/rename?name=`.
    func rename(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        guard let name = r.query["name"], !name.isEmpty else { throw .invalid("rename needs a new name (?name=)") }
        try engine.lifecycle.rename(ref, to: name.hasPrefix("/") ? String(name.dropFirst()) : name)
        return .empty(204)
    }

    /// `DELETE /containers/ID?force=&v=`.
    func remove(_ ref: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        if r.query.bool("link") { throw CreateRequest.unsupported("link") }
        try engine.lifecycle.remove(ref, force: r.query.bool("force"), volumes: r.query.bool("v"))
        return .empty(204)
    }
}

/// Warnings a create reports, gathered for its response.
final class WarningBox: @unchecked Sendable {
    private(set) var lines: [String] = []
    func add(_ line: String) { lines.append(line) }
}

enum FilterQuery {
    /// Docker's `filters` parameter as `--filter KEY=VALUE` flags. Go clients
    /// send `{"key": {"value": true}}`, docker-py the older `{"key": ["value"]}`.
    static func flags(_ raw: String?) throws(BerthError) -> [String] {
        guard let raw, !raw.isEmpty else { return [] }
        let json: JSON
        do {
            json = try JSONParser.parse(raw)
        } catch {
            throw .invalid("invalid filter: \(raw)")
        }
        guard case .object(let keys) = json else { throw .invalid("invalid filter: \(raw)") }
        var out: [String] = []
        for (key, values) in keys {
            switch values {
            case .array(let items): out += items.compactMap(\.stringValue).map { key + "=" + $0 }
            case .object(let map): out += map.filter { $0.1.boolValue != false }.map { key + "=" + $0.0 }
            case .string(let s): out.append(key + "=" + s)
            default: throw .invalid("invalid filter '\(key)': \(values.compact)")
            }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// What a route did: answered whole, or wrote its own stream.
enum RouteResult: Sendable {
    case response(APIResponse)
    case streamed
}

/// Matches a request to its endpoint, dockerd's way: with or without the
/// `/vX.Y` prefix, versions below the minimum refused, unknown paths 404
/// `page not found` (so `docker inspect` moves on to the next kind).
final class Router: Sendable {
    let engine: Engine

    init(engine: Engine) { self.engine = engine }

    func handle(
        method: String, uri: String, headers: [(String, String)], body: [UInt8], bodyFile: String? = nil,
        responder: Responder
    ) {
        let result: RouteResult
        do throws(BerthError) {
            var request = try parse(method: method, uri: uri, headers: headers, body: body)
            request.bodyFile = bodyFile
            result = try route(request, responder)
        } catch {
            result = .response(APIError.response(error))
        }
        if case .response(let r) = result { responder.send(r, headOnly: method == "HEAD") }
        if Self.trace {
            let status = if case .response(let r) = result { String(r.status) } else { "stream" }
            try? FileDescriptor(rawValue: 2).write("\(method) \(uri) \(status)\n")
        }
    }

    /// `BERTH_API_TRACE=1`: one line per request on stderr (method, path, status).
    static let trace = getenv("BERTH_API_TRACE") != nil

    private func parse(method: String, uri: String, headers: [(String, String)], body: [UInt8]) throws(BerthError)
        -> APIRequest
    {
        let q = uri.firstIndex(of: "?")
        let rawPath = q.map { uri[..<$0] } ?? uri[...]
        let query = Query(q.map { uri[uri.index(after: $0)...] } ?? "")
        var segments = rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            Query.decode($0, plusIsSpace: false)
        }
        var version = APIVersion.current
        if let first = segments.first, first.hasPrefix("v"), let v = APIVersion(first.dropFirst()) {
            if v < APIVersion.minimum {
                throw .invalid(
                    "client version \(v) is too old. Minimum supported API version is \(APIVersion.minimum), please upgrade your client to a newer version"
                )
            }
            version = min(v, APIVersion.current)
            segments.removeFirst()
        }
        return APIRequest(
            method: method, path: "/" + segments.joined(separator: "/"), version: version, query: query,
            headers: headers, body: body)
    }

    private func route(_ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let p = r.path
        let system = SystemRoutes(engine: engine)
        let containers = ContainerRoutes(engine: engine)
        let images = ImageRoutes(engine: engine)
        let streams = StreamRoutes(engine: engine)
        switch (r.method, p) {
        case ("GET", "/_ping"), ("HEAD", "/_ping"): return .response(system.ping(r))
        case ("GET", "/version"): return .response(system.version())
        case ("GET", "/info"): return .response(system.info())
        case ("GET", "/system/df"): return .response(try system.diskUsage(r))
        case ("GET", "/containers/json"): return .response(try containers.list(r))
        case ("POST", "/containers/create"): return .response(try containers.create(r))
        case ("GET", "/images/json"): return .response(try images.list(r))
        case ("POST", "/images/create"): return try PullRoute(engine: engine).pull(r, out)
        case ("GET", "/images/get"):
            return try TransferRoutes(engine: engine).save(r.query.pairs.filter { $0.0 == "names" }.map(\.1), out)
        case ("POST", "/images/load"): return .response(try TransferRoutes(engine: engine).load(r))
        case ("POST", "/build"): return try BuildRoute(engine: engine).build(r, out)
        case ("POST", "/commit"): return .response(try TransferRoutes(engine: engine).commit(r))
        case ("GET", "/volumes"): return .response(try VolumeRoutes(engine: engine).list(r))
        case ("POST", "/volumes/create"): return .response(try VolumeRoutes(engine: engine).create(r))
        case ("GET", "/networks"): return .response(try NetworkRoutes(engine: engine).list(r))
        case ("POST", "/networks/create"): return .response(try NetworkRoutes(engine: engine).create(r))
        case ("POST", "/auth"): return .response(try AuthRoute(engine: engine).login(r))
        case ("GET", "/events"): return try EventRoutes(engine: engine).stream(r, out)
        case ("POST", "/containers/prune"): return .response(try PruneRoutes(engine: engine).containers(r))
        case ("POST", "/images/prune"): return .response(try PruneRoutes(engine: engine).images(r))
        case ("POST", "/volumes/prune"): return .response(try PruneRoutes(engine: engine).volumes(r))
        case ("POST", "/networks/prune"): return .response(try PruneRoutes(engine: engine).networks(r))
        default: break
        }
        if let (name, verb) = Self.split(p, under: "/volumes/"), verb.isEmpty {
            let volumes = VolumeRoutes(engine: engine)
            switch r.method {
            case "GET": return .response(try volumes.inspect(name))
            case "DELETE": return .response(try volumes.remove(name, r))
            default: break
            }
        }
        if let (name, verb) = Self.split(p, under: "/networks/"), verb.isEmpty {
            let networks = NetworkRoutes(engine: engine)
            switch r.method {
            case "GET": return .response(try networks.inspect(name))
            case "DELETE": return .response(try networks.remove(name))
            default: break
            }
        }
        if let (name, verb) = Self.split(p, under: "/networks/"), r.method == "POST" {
            let networks = NetworkRoutes(engine: engine)
            switch verb {
            case "connect": return .response(try networks.connect(name, r))
            case "disconnect": return .response(try networks.disconnect(name, r))
            default: break
            }
        }
        if let (id, verb) = Self.split(p, under: "/containers/") {
            switch (r.method, verb) {
            case ("GET", "json"): return .response(try containers.inspect(id))
            case ("POST", "start"): return .response(try containers.start(id))
            case ("POST", "stop"): return .response(try containers.stop(id, r))
            case ("POST", "restart"): return .response(try containers.restart(id, r))
            case ("POST", "kill"): return .response(try containers.kill(id, r))
            case ("POST", "pause"): return .response(try containers.pause(id))
            case ("POST", "unpause"): return .response(try containers.unpause(id))
            case ("POST", "rename"): return .response(try containers.rename(id, r))
            case ("POST", "update"): return .response(try UpdateRoute(engine: engine).update(id, r))
            case ("POST", "wait"): return try streams.wait(id, r, out)
            case ("GET", "logs"): return try streams.logs(id, r, out)
            case ("GET", "top"): return .response(try containers.top(id, r))
            case ("GET", "stats"): return try StatsRoute(engine: engine).stats(id, r, out)
            case ("HEAD", "archive"): return .response(try ArchiveRoutes(engine: engine).head(id, r))
            case ("GET", "archive"): return try ArchiveRoutes(engine: engine).get(id, r, out)
            case ("PUT", "archive"): return .response(try ArchiveRoutes(engine: engine).put(id, r))
            case ("GET", "changes"): return .response(try containers.changes(id))
            case ("GET", "export"): return try TransferRoutes(engine: engine).export(id, out)
            case ("POST", "attach"): return try streams.attach(id, r, out)
            case ("POST", "resize"): return .response(try streams.resize(container: id, r))
            case ("POST", "exec"): return .response(try streams.createExec(id, r))
            case ("DELETE", ""): return .response(try containers.remove(id, r))
            default: break
            }
        }
        if let (id, verb) = Self.split(p, under: "/exec/") {
            switch (r.method, verb) {
            case ("POST", "start"): return try streams.startExec(id, r, out)
            case ("GET", "json"): return .response(try streams.inspectExec(id))
            case ("POST", "resize"): return .response(try streams.resize(exec: id, r))
            default: break
            }
        }
        if p.hasPrefix("/images/") {
            let rest = String(p.dropFirst("/images/".count))
            // Names hold `/` and `:`: the verb is matched from the right.
            for (method, suffix) in [("GET", "/json"), ("POST", "/tag"), ("GET", "/get"), ("GET", "/history")]
            where r.method == method {
                if rest.hasSuffix(suffix), rest.count > suffix.count {
                    let name = String(rest.dropLast(suffix.count))
                    switch suffix {
                    case "/json": return .response(try images.inspect(name))
                    case "/tag": return .response(try images.tag(name, r))
                    case "/history": return .response(try images.history(name))
                    default: return try TransferRoutes(engine: engine).save([name], out)
                    }
                }
            }
            if r.method == "POST", rest.hasSuffix("/push"), rest.count > 5 {
                return try PullRoute(engine: engine).push(String(rest.dropLast(5)), r, out)
            }
            if r.method == "DELETE", !rest.isEmpty { return .response(try images.remove(rest, r)) }
        }
        return .response(APIError.message("page not found", status: 404))
    }

    /// `/containers/ID/VERB` → (ID, VERB); `/containers/ID` → (ID, "").
    static func split(_ path: String, under prefix: String) -> (String, String)? {
        guard path.hasPrefix(prefix) else { return nil }
        let parts = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard let id = parts.first, !id.isEmpty, parts.count <= 2 else { return nil }
        return (String(id), parts.count == 2 ? String(parts[1]) : "")
    }
}

/// The store the service serves and the plugins it was wired with: the
/// same engine objects `berth` makes for each command.
struct Engine: Sendable {
    let root: String
    let registry: PluginRegistry
    let execs: ExecTable
    let attaches: AttachTable

    var layout: StoreLayout { StoreLayout(root: root) }
    var lifecycle: Lifecycle { Lifecycle(layout: layout, registry: registry) }
    var images: ImageStore { ImageStore(layout: layout) }
}

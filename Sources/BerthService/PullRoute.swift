import BerthCore
import BerthEngine
import Synchronization

/// `POST /images/create?fromImage=&tag=&platform=`: a pull through the
/// engine's `ImagePuller` (the registries, mirrors and logins of the store,
/// as `berth pull`), its progress as dockerd's JSON stream, one object a
/// line. A failure before any progress is a real status (404 for a missing
/// image, so docker-py and the CLI see "not found"); after, it is in-band
/// (`{"errorDetail": …, "error": …}`), as dockerd's.
struct PullRoute {
    let engine: Engine

    func pull(_ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        if let src = r.query["fromSrc"], !src.isEmpty {
            guard src == "-" else { throw CreateRequest.unsupported("fromSrc from a URL (import the file instead)") }
            return .response(try importBody(r))
        }
        guard let image = r.query["fromImage"], !image.isEmpty else { throw .invalid("fromImage is required") }
        var text = image
        if let tag = r.query["tag"], !tag.isEmpty { text += (tag.hasPrefix("sha256:") ? "@" : ":") + tag }
        let ref = try RemoteReference(parsing: text)
        var puller = ImagePuller(store: engine.images)
        if let (server, login) = try Self.requestLogin(r.header("X-Registry-Auth"), registry: ref.domain) {
            puller.auths.given[server] = login
        }
        if let p = r.query["platform"], !p.isEmpty { puller.platform = try Platform(parsing: p) }
        let started = Mutex(false)
        let begin = { @Sendable () -> Bool in
            started.withLock { s in
                if !s { out.startStream(contentType: "application/json") }
                s = true
                return true
            }
        }
        let send = { @Sendable (json: JSON) in
            _ = begin()
            out.write(Array((json.compact + "\n").utf8))
        }
        do {
            _ = try puller.pull(ref) { event in send(Self.json(event)) }
        } catch {
            guard started.withLock({ $0 }) else { throw error }
            send(.object([("errorDetail", .object([("message", .string(error.message))])), ("error", .string(error.message))]))
        }
        out.finish()
        return .streamed
    }

    /// `POST /images/NAME/push?tag=`: a push through the engine's
    /// `ImagePusher` (the store's registries and logins, as `berth push`),
    /// with the same progress stream as a pull and dockerd's closing `aux`
    /// object (`Tag`, `Digest`, `Size`).
    func push(_ name: String, _ r: APIRequest, _ out: Responder) throws(BerthError) -> RouteResult {
        let tag = r.query["tag"].flatMap { $0.isEmpty ? nil : $0 } ?? "latest"
        let ref = try RemoteReference(parsing: name + ":" + tag)
        let local = ref.localTag?.description ?? (name + ":" + tag)
        var pusher = ImagePusher(store: engine.images)
        if let (server, login) = try Self.requestLogin(r.header("X-Registry-Auth"), registry: ref.domain) {
            pusher.auths.given[server] = login
        }
        let started = Mutex(false)
        let send = { @Sendable (json: JSON) in
            started.withLock { s in
                if !s { out.startStream(contentType: "application/json") }
                s = true
            }
            out.write(Array((json.compact + "\n").utf8))
        }
        do {
            let result = try pusher.push(local, to: ref) { event in send(Self.json(event)) }
            send(
                .object([
                    ("progressDetail", .object([])),
                    ("aux", .object([("Tag", .string(tag)), ("Digest", .string(result.digest)), ("Size", .int(result.size))])),
                ]))
        } catch {
            guard started.withLock({ $0 }) else { throw error }
            send(.object([("errorDetail", .object([("message", .string(error.message))])), ("error", .string(error.message))]))
        }
        out.finish()
        return .streamed
    }

    /// `docker import`: `fromSrc=-` with the tar as the body, through the
    /// engine's `ImageImporter` (plain or gzip tar, escapes refused), as
    /// `berth import`; answers `{"status": "sha256:…"}`.
    private func importBody(_ r: APIRequest) throws(BerthError) -> APIResponse {
        if let p = r.query["platform"], !p.isEmpty, p != "linux/\(ImageConfig.hostArchitecture)" {
            throw .invalid(
                "import: platform \"\(p)\" is not supported on this machine; use linux/\(ImageConfig.hostArchitecture)")
        }
        var ref: ImageReference?
        if let repo = r.query["repo"], !repo.isEmpty {
            let tag = r.query["tag"].flatMap { $0.isEmpty ? nil : $0 }
            ref = try ImageReference(parsing: tag.map { repo + ":" + $0 } ?? repo)
        }
        let changes = r.query.pairs.filter { $0.0 == "changes" }.map(\.1).filter { !$0.isEmpty }
        let runConfig = try ImageChanges.apply(changes, to: .object([]))
        let store = engine.images
        let staging = try store.layout.makeStaging("api-import")
        defer { try? FileSystem.removeTree(staging) }
        let path = try r.bodyPath(staging: staging)
        let id = try ImageImporter(store: store).importTar(
            path: path, stdin: FileDescriptor(rawValue: -1), runConfig: runConfig, comment: r.query["message"] ?? "",
            tag: ref, createdBy: "berth import -")
        return .json(.object([("status", .string(id))]))
    }

    /// Docker's progress objects: `{"status","id"}` per layer with
    /// `progressDetail` while bytes move; `{"status"}` for a line of its own.
    static func json(_ e: TransferEvent) -> JSON {
        switch e {
        case .line(let text):
            // `latest: Pulling from library/busybox` is `{"status":"Pulling from …","id":"latest"}`.
            let parts = text.split(separator: ": Pulling from ", maxSplits: 1)
            if parts.count == 2 {
                return .object([("status", .string("Pulling from " + parts[1])), ("id", .string(String(parts[0])))])
            }
            return .object([("status", .string(text))])
        case .layer(let id, let status, let current, let total):
            var members: [(String, JSON)] = [("status", .string(status))]
            if let current {
                var detail: [(String, JSON)] = [("current", .int(current))]
                if let total { detail.append(("total", .int(total))) }
                members.append(("progressDetail", .object(detail)))
            } else {
                members.append(("progressDetail", .object([])))
            }
            members.append(("id", .string(id)))
            return .object(members)
        }
    }

    /// The login the client sent for the registry (`X-Registry-Auth`:
    /// base64url JSON `{username, password, serveraddress}` or `auth`, which
    /// the docker CLI fills from its config after `docker login`), used for
    /// this pull or push before the store's own (`berth login`), as dockerd
    /// uses it; nil when none was sent. Tokens (`identitytoken`,
    /// `registrytoken`) are refused rather than dropped, so a private pull
    /// never goes out anonymously while the client thinks it sent a login.
    static func requestLogin(_ header: String?, registry: String) throws(BerthError) -> (String, Credentials)? {
        guard let header, !header.isEmpty, let bytes = Base64.decode(header),
            let json = try? JSONParser.parse(bytes)
        else { return nil }
        for key in ["identitytoken", "registrytoken"] where !(json[key]?.stringValue ?? "").isEmpty {
            throw .invalid("\(key) in X-Registry-Auth is not supported by Berth; send a user name and password")
        }
        var user = json["username"]?.stringValue ?? ""
        var password = json["password"]?.stringValue ?? ""
        if user.isEmpty, let auth = json["auth"]?.stringValue, let decoded = Base64.decode(auth) {
            let text = String(decoding: decoded, as: UTF8.self)
            if let colon = text.firstIndex(of: ":") {
                (user, password) = (String(text[..<colon]), String(text[text.index(after: colon)...]))
            }
        }
        guard !user.isEmpty, !password.isEmpty else { return nil }
        let server = json["serveraddress"]?.stringValue ?? ""
        return (AuthStore.key(server.isEmpty ? registry : server), Credentials(username: user, password: password))
    }
}

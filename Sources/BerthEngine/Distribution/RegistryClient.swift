#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthCore

/// Media types of the distribution API.
public enum RegistryMediaType {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    /// Every manifest type a pull accepts.
    public static let accept = [dockerManifest, dockerList, ociManifest, ociIndex].joined(separator: ", ")
}

/// Talks to one repository of one registry (or mirror): token and basic
/// auth, manifests and blobs. Safe to share between the threads of a pull:
/// the only mutable state is the authorization header, behind a mutex.
public final class RegistryClient: Sendable {
    public let endpoint: RegistryEndpoint
    public let repository: String
    let credentials: Credentials?
    /// `pull` or `pull,push`: the scope a token is asked for.
    let actions: String
    /// Other repositories a token must also allow pulling from (the sources
    /// of cross-repository mounts), as Docker asks for them.
    let alsoPull: [String]
    private let authorization = Mutex<String?>(nil)

    public init(
        endpoint: RegistryEndpoint, repository: String, credentials: Credentials?, actions: String, alsoPull: [String] = []
    ) {
        self.alsoPull = alsoPull
        self.endpoint = endpoint
        self.repository = repository
        self.credentials = credentials
        self.actions = actions
    }

    /// `/v2/REPO/` + `rest`.
    public func url(_ rest: String) -> HTTPURL { endpoint.url("/v2/\(repository)/\(rest)") }

    /// Set once the registry answered over plain HTTP: later requests skip
    /// the TLS attempt.
    private let plainHTTP = Mutex(false)

    /// Sends a request, answering one 401 challenge (Bearer or Basic) by
    /// authenticating and sending it again. GET and HEAD are retried with
    /// back-off (0.5 s, 1 s, 2 s) after a dropped connection or a 5xx answer,
    /// unless `retry` is false (a download that resumes on its own).
    public func send(
        _ method: String, _ url: HTTPURL, headers: [(String, String)] = [], body: HTTPBody = .none,
        retry: Bool = true, progress: (@Sendable (Int64) -> Void)? = nil,
        sink: ((Int) throws(BerthError) -> HTTPBodyWriter?)? = nil
    ) throws(BerthError) -> HTTPResponse {
        let idempotent = retry && (method == "GET" || method == "HEAD")
        var attempt = 0
        while true {
            attempt += 1
            do throws(BerthError) {
                let response = try sendAuthenticated(
                    method, url, headers: headers, body: body, progress: progress, sink: sink)
                if idempotent, attempt < Self.attempts, [500, 502, 503, 504].contains(response.status) {
                    Self.backOff(attempt)
                    continue
                }
                return response
            } catch {
                guard idempotent, attempt < Self.attempts, error.kind == .io else { throw error }
                Self.backOff(attempt)
            }
        }
    }

    /// Tries of an idempotent request.
    public static let attempts = 4

    static func backOff(_ attempt: Int) { usleep(UInt32(500_000 << min(attempt - 1, 4))) }

    private func sendAuthenticated(
        _ method: String, _ url: HTTPURL, headers: [(String, String)], body: HTTPBody,
        progress: (@Sendable (Int64) -> Void)?, sink: ((Int) throws(BerthError) -> HTTPBodyWriter?)?
    ) throws(BerthError) -> HTTPResponse {
        var first = true
        var url = url
        let sameHost = url.authority == endpoint.base.authority
        if sameHost && plainHTTP.withLock({ $0 }) { url.scheme = "http" }
        while true {
            var all = headers
            if let auth = authorization.withLock({ $0 }) { all.append(("Authorization", auth)) }
            let response = try HTTPClient.send(
                method, url, headers: all, body: body, trust: endpoint.trust,
                allowPlainHTTP: sameHost && endpoint.allowPlainHTTP, progress: progress, sink: sink)
            if sameHost && url.scheme == "https" && response.url.scheme == "http"
                && response.url.authority == url.authority
            {
                plainHTTP.withLock { $0 = true }
                url.scheme = "http"
            }
            guard response.status == 401, first else { return response }
            first = false
            try authenticate(response.header("WWW-Authenticate") ?? "")
        }
    }

    /// Obtains an authorization header for a `WWW-Authenticate` challenge.
    func authenticate(_ challenge: String) throws(BerthError) {
        let (scheme, params) = Self.parseChallenge(challenge)
        switch scheme.lowercased() {
        case "basic":
            guard let credentials else { throw unauthorized("authentication required") }
            authorization.withLock { $0 = credentials.basicHeader }
        case "bearer":
            guard let realm = params["realm"], !realm.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }),
                let realmURL = HTTPURL(realm)
            else {
                throw BerthError(
                    "registry \(endpoint.name) asked for a token without a usable realm (\(challenge.debugDescription))")
            }
            var query: [String] = []
            if let service = params["service"] { query.append("service=" + HTTPURL.encode(service)) }
            if !repository.isEmpty { query.append("scope=" + HTTPURL.encode("repository:\(repository):\(actions)")) }
            for source in alsoPull { query.append("scope=" + HTTPURL.encode("repository:\(source):pull")) }
            var target = realmURL.target
            target += (target.contains("?") ? "&" : "?") + query.joined(separator: "&")
            let tokenURL = HTTPURL(scheme: realmURL.scheme, authority: realmURL.authority, target: target)
            var headers: [(String, String)] = []
            if let credentials { headers.append(("Authorization", credentials.basicHeader)) }
            let response = try HTTPClient.send("GET", tokenURL, headers: headers, trust: endpoint.trust)
            guard response.status == 200 else {
                let detail = Self.errorText(try? response.readBody(limit: 1 << 20)) ?? "\(response.status) \(response.reason)"
                throw unauthorized(detail)
            }
            let json = try? JSONParser.parse(try response.readBody(limit: 1 << 20))
            guard let token = json?["token"]?.stringValue ?? json?["access_token"]?.stringValue, !token.isEmpty else {
                throw BerthError("the token server of \(endpoint.name) (\(realmURL.authority)) answered without a token")
            }
            // A token goes into a header line: a CR or LF in it would forge headers.
            guard !token.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw BerthError(
                    "the token server of \(endpoint.name) (\(realmURL.authority)) answered with a token holding a control "
                        + "character (CR, LF); refusing to send it to the registry")
            }
            authorization.withLock { $0 = "Bearer " + token }
        default:
            throw unauthorized("authentication required")
        }
    }

    /// `login`: checks the credentials against `/v2/` (answering a Basic or
    /// Bearer challenge with them). Throws if the registry refuses them.
    public func verifyLogin() throws(BerthError) {
        let url = endpoint.url("/v2/")
        let response = try send("GET", url)
        guard response.status == 200 else {
            let text = Self.errorText(try? response.readBody()) ?? "\(response.status) \(response.reason)"
            throw .permission("login to \(endpoint.name) failed: GET \(url): \(text); check the user name and password")
        }
    }

    /// The error for a refused login: names the registry and the fix.
    public func unauthorized(_ detail: String) -> BerthError {
        if repository.isEmpty {  // login: no repository yet
            return .permission("login to \(endpoint.name) failed: \(detail); check the user name and password")
        }
        let login = endpoint.name == "docker.io" ? "berth login" : "berth login \(endpoint.name)"
        let who = credentials == nil ? "no login is stored for it" : "the stored login for it was refused"
        return .permission(
            "registry \(endpoint.name) refused access to \(repository) (unauthorized: \(detail)); \(who): run '\(login)'")
    }

    /// `Bearer realm="…",service="…"` → ("Bearer", [realm: …, service: …]).
    static func parseChallenge(_ text: String) -> (String, [String: String]) {
        let trimmed = text.trimmingSpaces
        guard let space = trimmed.firstIndex(of: " ") else { return (trimmed, [:]) }
        let scheme = String(trimmed[..<space])
        var params: [String: String] = [:]
        var rest = Substring(trimmed[trimmed.index(after: space)...])
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = rest[..<eq].trimmingCharacters(" ").lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\\", let n = rest.first { value.append(n); rest = rest.dropFirst(); continue }
                    if c == "\"" { break }
                    value.append(c)
                }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...]
            }
            params[key] = value
        }
        return (scheme, params)
    }

    /// `manifest unknown: manifest unknown` from a registry's error body.
    public static func errorText(_ body: [UInt8]?) -> String? {
        guard let body, let json = try? JSONParser.parse(body), let errors = json["errors"]?.arrayValue, !errors.isEmpty else {
            return nil
        }
        return errors.map { error -> String in
            let code = String((error["code"]?.stringValue ?? "error").lowercased().map { $0 == "_" ? " " : $0 })
            let message = error["message"]?.stringValue ?? ""
            return message.isEmpty ? code : "\(code): \(message)"
        }.joined(separator: "; ")
    }

    /// The error for an unexpected status; a rate limit (Docker Hub's
    /// `toomanyrequests`, 429) says to wait or log in.
    public func failure(_ what: String, _ response: HTTPResponse) -> BerthError {
        let text = Self.errorText(try? response.readBody(limit: 1 << 20)) ?? "\(response.status) \(response.reason)"
        if response.status == 429 || text.hasPrefix("toomanyrequests") {
            let login = endpoint.name == "docker.io" ? "berth login" : "berth login \(endpoint.name)"
            return .permission(
                "registry \(endpoint.name) is rate-limiting this client (\(what): \(text)); wait before trying again, or run '\(login)' for a higher limit"
            )
        }
        return BerthError("\(what) at \(endpoint.name): \(text)")
    }

    // MARK: Blobs

    /// Whether a failed download is worth another try: a dropped or slow
    /// connection is; a digest mismatch, a missing blob or a refusal is not
    /// (containerization's `RetryOptions.shouldRetry` decides the same way).
    static func isRetryable(_ error: BerthError) -> Bool {
        switch error.kind {
        case .integrity, .notFound, .permission, .usage, .arguments, .invalidArgument, .interrupted: false
        default: true
        }
    }

    /// Fetches a small blob (a config) into memory and checks its digest.
    public func blobBytes(_ digest: String) throws(BerthError) -> [UInt8] {
        let response = try send("GET", url("blobs/\(digest)"))
        if response.status == 401 { throw unauthorized(Self.errorText(try? response.readBody()) ?? "authentication required") }
        guard response.status == 200 else { throw failure("blob \(digest) of \(repository)", response) }
        let bytes = try response.readBody(limit: 64 << 20)
        let got = Digest.sha256(bytes)
        guard got == digest else {
            throw .integrity(
                "blob \(digest) from \(endpoint.name) hashes to \(got), not to its digest; the registry's copy is corrupt or was changed in transit; nothing was stored"
            )
        }
        return bytes
    }

    /// Downloads a blob into `path`, resuming with a Range request after a
    /// dropped connection (up to `attempts` tries), then checks its length
    /// and digest. `shouldStop` is polled between reads. On any failure the
    /// file is removed.
    public func downloadBlob(
        _ digest: String, size: Int64?, to path: String, attempts: Int = RegistryClient.attempts,
        progress: (Int64) -> Void, shouldStop: () -> Bool
    ) throws(BerthError) {
        do throws(BerthError) {
            var attempt = 0
            while true {
                attempt += 1
                do throws(BerthError) {
                    try downloadOnce(digest, size: size, to: path, progress: progress, shouldStop: shouldStop)
                    break
                } catch {
                    if shouldStop() || attempt >= attempts || !Self.isRetryable(error) { throw error }
                    Self.backOff(attempt)
                }
            }
            let hashing = HashingSource(try FileSource(path: path))
            try hashing.drainToEnd()
            if let size, hashing.byteCount != size {
                throw .integrity(
                    "blob \(digest) from \(endpoint.name) is \(hashing.byteCount) bytes, not the \(size) its manifest says; the download is truncated or the registry's copy is corrupt; nothing was stored"
                )
            }
            guard hashing.digest == digest else {
                throw .integrity(
                    "blob \(digest) from \(endpoint.name) hashes to \(hashing.digest), not to its digest; the registry's copy is corrupt or was changed in transit; nothing was stored"
                )
            }
        } catch {
            unlink(path)
            throw error
        }
    }

    private func downloadOnce(
        _ digest: String, size: Int64?, to path: String, progress: (Int64) -> Void,
        shouldStop: () -> Bool
    ) throws(BerthError) {
        // The writer below lives only as long as this call's request.
        try withoutActuallyEscaping(progress) { (progress) throws(BerthError) in
            try withoutActuallyEscaping(shouldStop) { (shouldStop) throws(BerthError) in
                try downloadOnce(digest, size: size, to: path, escapingProgress: progress, shouldStop: shouldStop)
            }
        }
    }

    private func downloadOnce(
        _ digest: String, size: Int64?, to path: String, escapingProgress progress: @escaping (Int64) -> Void,
        shouldStop: @escaping () -> Bool
    ) throws(BerthError) {
        var have: Int64 = 0
        var st = stat()
        if stat(path, &st) == 0 { have = Int64(st.st_size) }
        if let size, have >= size { have = 0 }
        var headers: [(String, String)] = []
        if have > 0 { headers.append(("Range", "bytes=\(have)-")) }
        var file: FileDescriptor?
        defer { file?.close() }
        var written: Int64 = 0
        // The file is opened once the status is known: 206 appends to what
        // an earlier try left, 200 starts again.
        let writer: (Int) throws(BerthError) -> HTTPBodyWriter? = { (status) throws(BerthError) -> HTTPBodyWriter? in
            let append = status == 206 && have > 0
            let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
            let fd: FileDescriptor
            do throws(Errno) { fd = try FileDescriptor.open(path, flags, mode: 0o600) } catch {
                throw .syscall("create", path, error)
            }
            file = fd
            written = append ? have : 0
            progress(written)
            return { (bytes) throws(BerthError) in
                if shouldStop() { throw BerthError("download of \(digest) stopped") }
                do throws(Errno) { try fd.writeAll(bytes) } catch {
                    throw .syscall("write", path, error, fix: "check free space in the store")
                }
                written += Int64(bytes.count)
                if let size, written > size {
                    throw .integrity(
                        "blob \(digest) from \(self.endpoint.name) is longer than the \(size) bytes its manifest says; nothing was stored"
                    )
                }
                progress(written)
            }
        }
        let response = try send("GET", url("blobs/\(digest)"), headers: headers, retry: false, sink: writer)
        switch response.status {
        case 200, 206:
            // An empty body never reached the writer: still make the file.
            if file == nil {
                do throws(Errno) {
                    file = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: 0o600)
                } catch {
                    throw .syscall("create", path, error)
                }
            }
        case 401: throw unauthorized(Self.errorText(try? response.readBody()) ?? "authentication required")
        case 404: throw .notFound("blob \(digest) of \(repository) not found at \(endpoint.name): blob unknown")
        default: throw failure("blob \(digest) of \(repository)", response)
        }
    }

    /// Whether the registry has a blob (HEAD).
    public func hasBlob(_ digest: String) throws(BerthError) -> Bool {
        let response = try send("HEAD", url("blobs/\(digest)"))
        if response.status == 401 { throw unauthorized("authentication required") }
        return response.status == 200
    }

    /// Asks the registry to link a blob it holds in `source` into this
    /// repository (cross-repository mount). False when it cannot (it then
    /// starts an upload instead, which is cancelled here).
    public func mountBlob(_ digest: String, from source: String) throws(BerthError) -> Bool {
        var target = url("blobs/uploads/")
        target.target += "?mount=" + HTTPURL.encode(digest) + "&from=" + HTTPURL.encode(source)
        let response = try send("POST", target)
        if response.status == 201 { return true }
        if response.status == 202, let location = response.header("Location") {
            _ = try? send("DELETE", response.url.resolving(location))
        }
        return false
    }

    /// Uploads a file as a blob: POST to start, PUT with the digest (monolithic).
    public func uploadBlob(
        _ digest: String, path: String, size: Int64,
        progress: (@Sendable (Int64) -> Void)? = nil
    ) throws(BerthError) {
        let start = try send("POST", url("blobs/uploads/"))
        if start.status == 401 || start.status == 403 {
            throw unauthorized(Self.errorText(try? start.readBody()) ?? "authentication required")
        }
        guard start.status == 202, let location = start.header("Location") else {
            throw failure("starting an upload to \(repository)", start)
        }
        var target = start.url.resolving(location)
        target.target += (target.target.contains("?") ? "&" : "?") + "digest=" + HTTPURL.encode(digest)
        let put = try send(
            "PUT", target, headers: [("Content-Type", "application/octet-stream")],
            body: .file(path: path, size: size), progress: progress)
        guard put.status == 201 || put.status == 204 else { throw failure("uploading blob \(digest) to \(repository)", put) }
    }
}

extension Substring {
    func trimmingCharacters(_ c: Character) -> String {
        String(drop { $0 == c }.reversed().drop { $0 == c }.reversed())
    }
}

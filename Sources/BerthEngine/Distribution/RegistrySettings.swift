#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// Where images of a registry domain are fetched from, and how far their
/// certificates are trusted, from the store's `config.json`:
///
/// ```json
/// {"insecure-registries": ["registry.lan:5000"],
///  "registries": {"mirrors": {"docker.io": ["https://mirror.lan"]},
///                 "insecure": ["registry.lan:5000"],
///                 "certsDirectories": ["/etc/berth/certs.d", "/etc/docker/certs.d"]}}
/// ```
///
/// Mirrors of a domain are tried in order before the registry itself (pulls
/// only; `push` always goes to the registry named in the reference).
/// Every registry is spoken to over HTTPS, its certificate checked against
/// the system's CAs and `certsDirectories/HOST:PORT/*.crt`. An `insecure`
/// registry (Docker's `insecure-registries`) is not verified and may answer
/// over plain HTTP instead; a loopback one (`localhost`, `127.0.0.0/8`,
/// `[::1]`) may answer over plain HTTP but, if it speaks TLS, is verified.
/// `tlsVerify` is Podman's `--tls-verify` for one command: false treats the
/// command's registry as insecure, true refuses plain HTTP and checks
/// certificates even where the config would not.
public struct RegistrySettings: Sendable, Equatable {
    /// Domain → mirror URLs (`https://host:port`, optionally with a path prefix).
    public var mirrors: [String: [String]] = [:]
    /// `host[:port]` of registries whose certificates are not checked and
    /// that may answer over plain HTTP.
    public var insecure: [String] = []
    /// Where per-registry certificates are looked for.
    public var certsDirectories: [String] = HTTPTrust.defaultRoots
    /// `--tls-verify`, when given.
    public var tlsVerify: Bool?

    public init() {}

    /// Reads the `registries` member of the store config.
    public init(json: JSON?) {
        guard let json else { return }
        if case .object(let members)? = json["mirrors"] {
            for (domain, urls) in members { mirrors[domain] = urls.stringArray ?? urls.stringValue.map { [$0] } ?? [] }
        }
        insecure = json["insecure"]?.stringArray ?? []
        if let dirs = json["certsDirectories"]?.stringArray { certsDirectories = dirs }
    }

    /// Where a domain's registry API really is: `registry-1.docker.io` for Docker Hub.
    public static func apiHost(of domain: String) -> String {
        domain == "docker.io" ? "registry-1.docker.io" : domain
    }

    /// Whether `authority` is listed as insecure (by `host:port` or `host`).
    public func isInsecure(_ authority: String) -> Bool {
        if tlsVerify == false { return true }
        if tlsVerify == true { return false }
        return insecure.contains(authority) || insecure.contains(HTTPURL(scheme: "http", authority: authority, target: "/").host)
    }

    /// Whether `authority` may answer over plain HTTP when it speaks no TLS.
    public func allowsPlainHTTP(_ authority: String) -> Bool {
        tlsVerify != true && (isInsecure(authority) || Self.isLoopback(authority))
    }

    static func isLoopback(_ authority: String) -> Bool {
        let host = HTTPURL(scheme: "http", authority: authority, target: "/").host
        return host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    /// The certificates to use with `authorities` (the endpoints of one command).
    func trust(_ authorities: [String]) -> HTTPTrust {
        HTTPTrust(roots: certsDirectories, unverified: Set(authorities.filter(isInsecure)))
    }

    /// The endpoints a pull of `domain` tries, mirrors first.
    public func pullEndpoints(for domain: String) -> [RegistryEndpoint] {
        var list: [RegistryEndpoint] = []
        for mirror in mirrors[domain] ?? [] {
            let text = mirror.contains("://") ? mirror : "https://" + mirror
            guard var url = HTTPURL(text) else { continue }
            if url.target.hasSuffix("/") { url.target.removeLast() }
            list.append(
                RegistryEndpoint(
                    base: url, name: url.authority, isMirror: true,
                    allowPlainHTTP: url.scheme == "https" && allowsPlainHTTP(url.authority),
                    trust: trust([url.authority])))
        }
        list.append(pushEndpoint(for: domain))
        return list
    }

    /// The registry itself.
    public func pushEndpoint(for domain: String) -> RegistryEndpoint {
        let host = Self.apiHost(of: domain)
        return RegistryEndpoint(
            base: HTTPURL(scheme: "https", authority: host, target: ""),
            name: domain, isMirror: false, allowPlainHTTP: allowsPlainHTTP(host), trust: trust([host]))
    }

    /// The warning a command prints before it talks to `domain`'s registry
    /// unverified: always after `--tls-verify=false`; for a listed insecure
    /// registry unless it is on loopback (Docker lists 127.0.0.0/8 itself).
    public func warning(for domain: String) -> String? {
        let host = Self.apiHost(of: domain)
        guard isInsecure(host), tlsVerify == false || !Self.isLoopback(host) else { return nil }
        let why = tlsVerify == false ? "--tls-verify=false" : "it is listed in insecure-registries"
        return
            "WARNING: the TLS certificate of \(host) is not verified and plain HTTP is allowed (\(why)); anyone on the way can read and change what is sent"
    }
}

/// A registry (or mirror) to send requests to.
public struct RegistryEndpoint: Sendable, Equatable {
    /// Scheme and authority; `target` is a path prefix (usually empty).
    public var base: HTTPURL
    /// What messages and `auth.json` call it: `docker.io`, `127.0.0.1:5000`.
    public var name: String
    public var isMirror: Bool
    /// Whether an `https://` request that meets a plain-HTTP server is sent
    /// again over `http://`.
    public var allowPlainHTTP: Bool = false
    /// The certificates for its host.
    public var trust = HTTPTrust()

    /// A URL under `/v2/`.
    public func url(_ path: String) -> HTTPURL {
        HTTPURL(scheme: base.scheme, authority: base.authority, target: (base.target == "/" ? "" : base.target) + path)
    }
}

/// A user name and password (or identity token) for one registry.
public struct Credentials: Sendable, Equatable {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
    /// `Basic base64(user:password)`.
    public var basicHeader: String { "Basic " + Base64.encode(username + ":" + password) }
}

/// `ROOT/auth.json`, written by `login` with mode 0600, in the shape of
/// Docker's `config.json`: `{"auths": {"127.0.0.1:5000": {"auth": "base64(user:password)"}}}`.
public struct AuthStore: Sendable {
    public let path: String
    /// Logins a request brought with it (the API's `X-Registry-Auth`, which
    /// the docker CLI sends from its own config), by server key: used before
    /// the stored ones, for that request only, and never written.
    public var given: [String: Credentials] = [:]

    public init(layout: StoreLayout) { path = layout.auth }

    /// The key a server is stored under: `docker.io` for Docker Hub's names,
    /// else `host[:port]` without a scheme or path.
    public static func key(_ server: String) -> String {
        var s = server
        if let sep = s.firstRange(of: "://") { s = String(s[sep.upperBound...]) }
        if let slash = s.firstIndex(of: "/") { s = String(s[..<slash]) }
        if ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", ""].contains(s) { return "docker.io" }
        return s
    }

    /// Every stored login.
    public func all() -> [String: Credentials] {
        guard let json = try? JSONParser.parse(FileSystem.read(path)), case .object(let auths)? = json["auths"] else {
            return [:]
        }
        var out: [String: Credentials] = [:]
        for (server, entry) in auths {
            guard let encoded = entry["auth"]?.stringValue, let bytes = Base64.decode(encoded) else { continue }
            let text = String(decoding: bytes, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            out[Self.key(server)] = Credentials(
                username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        }
        return out
    }

    /// The login for a server, if any.
    public func credentials(for server: String) -> Credentials? {
        given[Self.key(server)] ?? all()[Self.key(server)]
    }

    /// Stores (or with nil, removes) a login; returns whether anything changed.
    @discardableResult
    public func set(_ credentials: Credentials?, for server: String) throws(BerthError) -> Bool {
        var auths = all()
        let key = Self.key(server)
        let had = auths[key] != nil
        auths[key] = credentials
        guard credentials != nil || had else { return false }
        let members = auths.sorted { $0.key < $1.key }.map { (key, c) in
            (key, JSON.object([("auth", .string(Base64.encode(c.username + ":" + c.password)))]))
        }
        let json = JSON.object([("auths", .object(members))])
        try FileSystem.writeAtomically(path, Array((json.pretty(indent: 2) + "\n").utf8), mode: 0o600)
        chmod(path, 0o600)
        return true
    }
}

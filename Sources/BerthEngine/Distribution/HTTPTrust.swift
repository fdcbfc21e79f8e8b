#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// What libcurl is told about certificates for one request.
public struct TLSConfiguration: Sendable, Equatable {
    /// False: the peer's certificate and name are not checked (`--tls-verify=false`).
    public var verify = true
    /// PEM: the system bundle followed by certs.d's `*.crt`; empty for the
    /// system's own trust alone.
    public var caPEM: [CChar] = []
    /// `client.cert` and its `client.key`, PEM files.
    public var clientCertificate: String?
    public var clientKey: String?

    public init() {}
}

/// Docker's per-registry trust: `ROOT_DIR/HOST:PORT/` holds `*.crt` (CAs
/// trusted beside the system's), and `NAME.cert` with `NAME.key` (a client
/// certificate). Berth reads `/etc/berth/certs.d` and Docker's
/// `/etc/docker/certs.d` (a store's config.json may name others, for tests
/// and for a store of one's own). Registries listed in `unverified` are
/// spoken to without checking their certificate.
public struct HTTPTrust: Sendable, Equatable {
    public static let defaultRoots = ["/etc/berth/certs.d", "/etc/docker/certs.d"]
    /// Debian's bundle of the system's CAs (ca-certificates).
    static let systemBundle = "/etc/ssl/certs/ca-certificates.crt"

    public var roots: [String]
    /// `host:port` (or `host`) whose certificates are not checked.
    public var unverified: Set<String>

    public init(roots: [String] = HTTPTrust.defaultRoots, unverified: Set<String> = []) {
        self.roots = roots
        self.unverified = unverified
    }

    /// The certificates for `url`'s host, from every root that has a
    /// directory for it. A `.cert` without its `.key` (or the reverse) is an
    /// error naming both files, as Docker's is.
    public func configuration(for url: HTTPURL) throws(BerthError) -> TLSConfiguration {
        var tls = TLSConfiguration()
        tls.verify = !unverified.contains(url.authority) && !unverified.contains(url.host)
        var cas: [UInt8] = []
        for root in roots {
            let dir = root + "/" + url.authority
            guard FileSystem.isDirectory(dir) else { continue }
            for name in FileSystem.list(dir).sorted() {
                let path = dir + "/" + name
                if name.hasSuffix(".crt") {
                    guard let pem = try? FileSystem.read(path) else {
                        throw .permission("cannot read the CA certificate \(path); check its permissions")
                    }
                    cas += pem + [10]
                } else if name.hasSuffix(".cert") {
                    let key = String(path.dropLast(5)) + ".key"
                    guard FileSystem.exists(key) else {
                        throw .invalid(
                            "missing key \(key) for client certificate \(path); CA certificates must use the extension .crt")
                    }
                    if tls.clientCertificate == nil {
                        tls.clientCertificate = path
                        tls.clientKey = key
                    }
                } else if name.hasSuffix(".key") {
                    let cert = String(path.dropLast(4)) + ".cert"
                    guard FileSystem.exists(cert) else {
                        throw .invalid("missing client certificate \(cert) for key \(path)")
                    }
                }
            }
        }
        if !cas.isEmpty {
            // libcurl's CA blob replaces its default trust: put the system's first.
            let system = (try? FileSystem.read(Self.systemBundle)) ?? []
            tls.caPEM = (system + [10] + cas).map { CChar(bitPattern: $0) }
        }
        return tls
    }
}

#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (either case), read as Go's
/// net/http (so Docker) reads them: the proxy of the URL's scheme, none for
/// loopback hosts or a `NO_PROXY` entry (`*`, a host and its subdomains,
/// `.domain` for subdomains only, `host:port`, an IP or an IPv4 CIDR).
public struct HTTPProxy: Sendable, Equatable {
    public var httpsProxy: String?
    public var httpProxy: String?
    public var noProxy: [String]

    public init(httpsProxy: String? = nil, httpProxy: String? = nil, noProxy: String = "") {
        self.httpsProxy = Self.normalise(httpsProxy)
        self.httpProxy = Self.normalise(httpProxy)
        self.noProxy = noProxy.split(separator: ",").map { String($0).trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
    }

    /// The process environment's settings.
    public static func fromEnvironment() -> HTTPProxy {
        func env(_ names: String...) -> String? {
            for name in names { if let v = getenv(name), v.pointee != 0 { return String(cString: v) } }
            return nil
        }
        return HTTPProxy(
            httpsProxy: env("HTTPS_PROXY", "https_proxy"), httpProxy: env("HTTP_PROXY", "http_proxy"),
            noProxy: env("NO_PROXY", "no_proxy") ?? "")
    }

    /// `host:3128` means `http://host:3128`.
    static func normalise(_ value: String?) -> String? {
        guard let value = value?.trimmingSpaces, !value.isEmpty else { return nil }
        return value.contains("://") ? value : "http://" + value
    }

    /// The proxy to reach `url` through, or nil for a direct connection.
    public func proxy(for url: HTTPURL) -> String? {
        guard let proxy = url.scheme == "https" ? httpsProxy : httpProxy else { return nil }
        let host = url.host.lowercased()
        if host == "localhost" || host.hasPrefix("127.") || host == "::1" { return nil }
        for entry in noProxy {
            if entry == "*" { return nil }
            var name = entry
            var port: String?
            if let colon = entry.lastIndex(of: ":"), !entry.contains("]"), entry.filter({ $0 == ":" }).count == 1 {
                name = String(entry[..<colon])
                port = String(entry[entry.index(after: colon)...])
            }
            if let port, port != url.port { continue }
            if name.contains("/"), let subnet = Subnet(name), let ip = IPv4(host) {
                if subnet.contains(ip) { return nil }
                continue
            }
            if name.hasPrefix("*.") { name.removeFirst() }
            if name.hasPrefix(".") {
                if host.hasSuffix(name) { return nil }
            } else if host == name || host.hasSuffix("." + name) {
                return nil
            }
        }
        return proxy
    }

    /// A proxy URL without its password, for messages.
    static func redacted(_ proxy: String) -> String {
        guard let sep = proxy.firstRange(of: "://"), let at = proxy[sep.upperBound...].firstIndex(of: "@") else { return proxy }
        return String(proxy[..<sep.upperBound]) + "…" + String(proxy[at...])
    }
}

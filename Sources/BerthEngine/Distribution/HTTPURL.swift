#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// An absolute `http://` or `https://` URL, split the way a request needs it.
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    /// `host` or `host:port`, as written.
    public var authority: String
    /// The path and query, starting with `/`.
    public var target: String

    public init(scheme: String, authority: String, target: String) {
        self.scheme = scheme
        self.authority = authority
        self.target = target.hasPrefix("/") ? target : "/" + target
    }

    /// Parses `scheme://authority/path?query`; nil if it is not one.
    public init?(_ text: String) {
        guard let sep = text.firstRange(of: "://") else { return nil }
        let scheme = text[..<sep.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = text[sep.upperBound...]
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = String(rest[..<slash])
        guard !authority.isEmpty else { return nil }
        var target = String(rest[slash...])
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        self.init(scheme: scheme, authority: authority, target: target)
    }

    /// Resolves a `Location` header (absolute, or a path on this server).
    public func resolving(_ location: String) -> HTTPURL {
        if let absolute = HTTPURL(location) { return absolute }
        if location.hasPrefix("//") { return HTTPURL(scheme + ":" + location) ?? self }
        return HTTPURL(scheme: scheme, authority: authority, target: location)
    }

    /// The host without the port (brackets of an IPv6 literal removed).
    public var host: String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        if let colon = authority.lastIndex(of: ":") { return String(authority[..<colon]) }
        return authority
    }

    /// The port, explicit or the scheme's default.
    public var port: String {
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            return String(authority[authority.index(after: colon)...])
        }
        return scheme == "https" ? "443" : "80"
    }

    public var description: String { "\(scheme)://\(authority)\(target)" }

    /// Percent-encodes a query value.
    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if (c.isASCII && (c.isLetter || c.isNumber)) || "-_.~".contains(c) {
                out.append(c)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

import BerthCore
import BerthEngine

/// One API request, read whole before it is routed (bodies are small JSON
/// documents; the streams that are not, attach and exec, are hijacked).
struct APIRequest: Sendable {
    var method: String
    /// The path without the `/vX.Y` prefix, percent-decoded per segment.
    var path: String
    /// The API version the client asked for in the path, or the server's own.
    var version: APIVersion
    var query: Query
    var headers: [(String, String)]
    var body: [UInt8]
    /// Where an archive body was spooled (`Spool`), instead of `body`.
    var bodyFile: String? = nil

    /// The body as a file: the spooled one, or `body` written under `staging`.
    func bodyPath(staging: String) throws(BerthError) -> String {
        if let bodyFile { return bodyFile }
        let path = staging + "/body"
        try FileSystem.writeAtomically(path, body, mode: 0o600, durable: false)
        return path
    }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// `Connection: Upgrade` with `Upgrade: tcp`: the client wants the
    /// connection hijacked for a raw stream (attach, exec start).
    var wantsUpgrade: Bool {
        (header("Connection")?.lowercased().contains("upgrade") ?? false) && header("Upgrade") != nil
    }

    /// The body as JSON; an empty body is an empty object.
    func json() throws(BerthError) -> JSON {
        if body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) { return .object([]) }
        do {
            return try JSONParser.parse(body)
        } catch {
            throw .invalid("invalid JSON in the request body: \(error.message)")
        }
    }
}

/// An API version (`1.41`), compared part by part as numbers.
struct APIVersion: Comparable, Sendable, CustomStringConvertible {
    var major: Int
    var minor: Int

    /// What the server speaks: the newest shape it answers with.
    static let current = APIVersion(major: 1, minor: 44)
    /// The oldest version served (Docker 20.10's CLI speaks 1.41).
    static let minimum = APIVersion(major: 1, minor: 41)

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    init?(_ text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, b >= 0 else { return nil }
        major = a
        minor = b
    }

    var description: String { "\(major).\(minor)" }

    static func < (l: APIVersion, r: APIVersion) -> Bool { (l.major, l.minor) < (r.major, r.minor) }
}

/// A query string decoded as a form (`+` is a space), repeated keys kept.
struct Query: Sendable {
    var pairs: [(String, String)] = []

    init(_ raw: Substring) {
        for part in raw.split(separator: "&") where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pairs.append((Self.decode(kv[0]), kv.count > 1 ? Self.decode(kv[1]) : ""))
        }
    }

    subscript(key: String) -> String? { pairs.first { $0.0 == key }?.1 }

    /// Docker's form booleans: "", 0, no, false, none (any case) are false.
    func bool(_ key: String) -> Bool {
        guard let v = self[key]?.lowercased() else { return false }
        return !["", "0", "no", "false", "none"].contains(v)
    }

    /// An integer parameter; a malformed one is a 400 naming it.
    func int(_ key: String) throws(BerthError) -> Int? {
        guard let v = self[key], !v.isEmpty else { return nil }
        guard let n = Int(v) else { throw .invalid("invalid value for \(key): \(v): it needs to be an integer") }
        return n
    }

    /// Percent-decoding, with `+` as a space.
    static func decode(_ s: Substring, plusIsSpace: Bool = true) -> String {
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
                continue
            }
            out.append(b == UInt8(ascii: "+") && plusIsSpace ? 32 : b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}

/// A status and body for a request that is not streamed.
struct APIResponse: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    static func json(_ value: JSON, status: Int = 200) -> APIResponse {
        APIResponse(
            status: status, headers: [("Content-Type", "application/json")],
            body: Array((value.compact(escapingHTML: false) + "\n").utf8))
    }

    static func empty(_ status: Int) -> APIResponse { APIResponse(status: status) }

    static func text(_ text: String, status: Int = 200) -> APIResponse {
        APIResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }
}

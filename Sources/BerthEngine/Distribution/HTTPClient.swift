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

/// What a request sends after its headers.
public enum HTTPBody: Sendable {
    case none
    case bytes([UInt8])
    /// A file of `size` bytes, streamed.
    case file(path: String, size: Int64)
}

/// A response: the status, the headers and a stream of the body.
public final class HTTPResponse {
    public let status: Int
    public let reason: String
    public let headers: [(String, String)]
    /// The body (Content-Length, chunked, or up to the end of the connection).
    public let body: HTTPBodyReader

    init(status: Int, reason: String, headers: [(String, String)], body: HTTPBodyReader) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// A header's value (case-insensitive name), the first if repeated.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0.lowercased() == lower }?.1
    }

    /// Every value of a header.
    public func headers(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.0.lowercased() == lower }.map(\.1)
    }

    /// The declared body length, if any.
    public var contentLength: Int64? { header("Content-Length").flatMap { Int64($0.trimmingSpaces) } }

    /// Reads the body into memory, refusing more than `limit` bytes.
    public func readBody(limit: Int = 16 << 20) throws(BerthError) -> [UInt8] {
        var out: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let n = try body.read(into: chunk)
            if n == 0 { return out }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<n]))
            if out.count > limit { throw BerthError("\(body.label): the response is larger than \(limit) bytes; refusing it") }
        }
    }

    /// Closes the connection.
    public func close() { body.close() }
}

/// The body of a response as a `ByteSource`. The connection is closed at
/// the end of the body or on `close()`.
public final class HTTPBodyReader: ByteSource {
    enum Framing { case length(Int64), chunked, untilClose, empty }
    private let connection: HTTPConnection
    private var framing: Framing
    private var chunkLeft: Int64 = 0
    private var done = false
    let label: String

    init(connection: HTTPConnection, framing: Framing, label: String) {
        self.connection = connection
        self.framing = framing
        self.label = label
        if case .empty = framing { done = true; connection.close() }
        if case .length(0) = framing { done = true; connection.close() }
    }

    deinit { connection.close() }

    public func close() { connection.close() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        guard !done, buffer.count > 0 else { return 0 }
        switch framing {
        case .empty:
            return 0
        case .length(let left):
            let want = Int(min(Int64(buffer.count), left))
            let n = try connection.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
            if n == 0 {
                throw BerthError(
                    "\(label): the connection closed with \(left) bytes of the body still to come; the download is truncated")
            }
            framing = .length(left - Int64(n))
            if left - Int64(n) == 0 { done = true; connection.close() }
            return n
        case .untilClose:
            let n = try connection.read(into: buffer)
            if n == 0 { done = true; connection.close() }
            return n
        case .chunked:
            if chunkLeft == 0 {
                let line = try connection.readLine()
                let sizeText = line.split(separator: ";").first.map { String($0).trimmingSpaces } ?? ""
                guard let size = Int64(sizeText, radix: 16), size >= 0 else {
                    throw BerthError("\(label): bad chunk size \"\(line)\" in a chunked response")
                }
                if size == 0 {
                    while try !connection.readLine().isEmpty {}  // trailers
                    done = true
                    connection.close()
                    return 0
                }
                chunkLeft = size
            }
            let want = Int(min(Int64(buffer.count), chunkLeft))
            let n = try connection.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
            if n == 0 { throw BerthError("\(label): the connection closed in the middle of a chunk; the download is truncated") }
            chunkLeft -= Int64(n)
            if chunkLeft == 0 { _ = try connection.readLine() }
            return n
        }
    }
}

/// One TCP connection with a read buffer.
final class HTTPConnection {
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var offset = 0
    let label: String

    init(url: HTTPURL, timeoutSeconds: Int) throws(BerthError) {
        label = url.authority
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(url.host, url.port, &hints, &list)
        guard status == 0, let first = list else {
            let text = String(cString: gai_strerror(status))
            throw .unavailable(
                "cannot reach registry \(url.authority): lookup \(url.host): \(text); check the name (Berth reaches only what this machine can resolve)"
            )
        }
        defer { freeaddrinfo(list) }
        var lastError = Errno(ECONNREFUSED)
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        fd = -1
        while let ai = cursor {
            let s = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
            if s >= 0 {
                var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if connect(s, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { fd = s; break }
                lastError = .current
                Glibc.close(s)
            } else {
                lastError = .current
            }
            cursor = ai.pointee.ai_next
        }
        guard fd >= 0 else {
            throw .unavailable(
                "cannot reach registry \(url.authority): connect: \(lastError); check that the registry runs and its address")
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        var sent = 0
        while sent < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw BerthError("send to registry \(label): \(Errno.current); the registry closed the connection or timed out")
            }
            sent += n
        }
    }

    func send(_ bytes: [UInt8]) throws(BerthError) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        defer { copy.deallocate() }
        copy.copyBytes(from: bytes)
        try send(UnsafeRawBufferPointer(rebasing: copy[..<bytes.count]))
    }

    private func fill() throws(BerthError) -> Bool {
        if offset > 0 && offset == buffer.count { buffer.removeAll(keepingCapacity: true); offset = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            guard fd >= 0 else { return false }
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = Errno.current
                let timedOut = e.rawValue == EAGAIN || e.rawValue == EWOULDBLOCK
                throw BerthError("read from registry \(label): \(timedOut ? "timed out" : "\(e)"); the download is incomplete")
            }
            if n == 0 { return false }
            buffer.append(contentsOf: chunk[..<n])
            return true
        }
    }

    func read(into out: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        if offset == buffer.count {
            // Large reads go straight to the caller's buffer.
            if out.count >= 65536 {
                while true {
                    guard fd >= 0 else { return 0 }
                    let n = Glibc.recv(fd, out.baseAddress, out.count, 0)
                    if n < 0 {
                        if errno == EINTR { continue }
                        let e = Errno.current
                        let timedOut = e.rawValue == EAGAIN || e.rawValue == EWOULDBLOCK
                        throw BerthError(
                            "read from registry \(label): \(timedOut ? "timed out" : "\(e)"); the download is incomplete")
                    }
                    return n
                }
            }
            guard try fill() else { return 0 }
        }
        let n = min(out.count, buffer.count - offset)
        buffer.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
        offset += n
        return n
    }

    /// A line without its CRLF; at most 64 KiB.
    func readLine() throws(BerthError) -> String {
        var line: [UInt8] = []
        while true {
            if offset == buffer.count {
                guard try fill() else {
                    throw BerthError("read from registry \(label): the connection closed in the middle of a response")
                }
            }
            let byte = buffer[offset]
            offset += 1
            if byte == UInt8(ascii: "\n") {
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            line.append(byte)
            if line.count > 65536 { throw BerthError("read from registry \(label): a response line is too long") }
        }
    }
}

/// A small HTTP/1.1 client: one connection per request (`Connection:
/// close`), plain HTTP only. HTTPS is refused with a message saying how to
/// reach a registry without it.
public enum HTTPClient {
    /// Sends a request and returns the response with its headers read and
    /// its body ready to stream. Redirects are followed for GET and HEAD.
    public static func send(
        _ method: String, _ url: HTTPURL, headers: [(String, String)] = [], body: HTTPBody = .none,
        followRedirects: Bool = true, timeoutSeconds: Int = 60,
        progress: (@Sendable (Int64) -> Void)? = nil
    ) throws(BerthError) -> HTTPResponse {
        var url = url
        var headers = headers
        for _ in 0..<6 {
            let response = try sendOnce(
                method, url, headers: headers, body: body, timeoutSeconds: timeoutSeconds,
                progress: progress)
            guard followRedirects, method == "GET" || method == "HEAD", [301, 302, 303, 307, 308].contains(response.status),
                let location = response.header("Location")
            else { return response }
            response.close()
            let next = url.resolving(location)
            // Credentials go only to the server they were meant for (blob
            // redirects to storage carry their own signature).
            if next.authority != url.authority { headers = headers.filter { $0.0.lowercased() != "authorization" } }
            url = next
        }
        throw BerthError("\(method) \(url): too many redirects")
    }

    private static func sendOnce(
        _ method: String, _ url: HTTPURL, headers: [(String, String)], body: HTTPBody,
        timeoutSeconds: Int, progress: (@Sendable (Int64) -> Void)?
    ) throws(BerthError) -> HTTPResponse {
        guard url.scheme == "http" else {
            throw .unavailable(
                "cannot reach \(url.authority) over HTTPS: Berth's registry client speaks plain HTTP only; "
                    + "use a registry or mirror on plain HTTP and list it under \"registries\" \"insecure\" (or \"mirrors\") in the store's config.json"
            )
        }
        let connection = try HTTPConnection(url: url, timeoutSeconds: timeoutSeconds)
        var head =
            "\(method) \(url.target) HTTP/1.1\r\nHost: \(url.authority)\r\nUser-Agent: berth/\(berthVersion)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        switch body {
        case .none:
            if method == "PUT" || method == "POST" || method == "PATCH" { head += "Content-Length: 0\r\n" }
        case .bytes(let bytes): head += "Content-Length: \(bytes.count)\r\n"
        case .file(_, let size): head += "Content-Length: \(size)\r\n"
        }
        head += "\r\n"
        try connection.send(Array(head.utf8))
        switch body {
        case .none: break
        case .bytes(let bytes): try connection.send(bytes)
        case .file(let path, let size):
            let source = try FileSource(path: path)
            defer { source.close() }
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { chunk.deallocate() }
            var total: Int64 = 0
            while true {
                let n = try source.read(into: chunk)
                if n == 0 { break }
                try connection.send(UnsafeRawBufferPointer(rebasing: chunk[..<n]))
                total += Int64(n)
                progress?(total)
            }
            guard total == size else { throw BerthError("upload \(path): the file changed size while it was sent") }
        }

        var status = 0
        var reason = ""
        var responseHeaders: [(String, String)] = []
        repeat {
            let statusLine = try connection.readLine()
            let parts = statusLine.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
                throw BerthError("\(method) \(url): not an HTTP response (\"\(statusLine.prefix(60))\"); is this a registry?")
            }
            status = code
            reason = parts.count > 2 ? parts[2] : ""
            responseHeaders = []
            while true {
                let line = try connection.readLine()
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                responseHeaders.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces))
            }
        } while status == 100
        let lookup = { (name: String) in responseHeaders.first { $0.0.lowercased() == name }?.1 }
        let framing: HTTPBodyReader.Framing
        if method == "HEAD" || status == 204 || status == 304 {
            framing = .empty
        } else if lookup("transfer-encoding")?.lowercased().contains("chunked") == true {
            framing = .chunked
        } else if let length = lookup("content-length").flatMap({ Int64($0) }) {
            framing = .length(length)
        } else {
            framing = .untilClose
        }
        let reader = HTTPBodyReader(connection: connection, framing: framing, label: "\(method) \(url)")
        return HTTPResponse(status: status, reason: reason, headers: responseHeaders, body: reader)
    }
}

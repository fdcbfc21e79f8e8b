#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux
import BerthCore

/// What a request sends after its headers.
public enum HTTPBody: Sendable {
    case none
    case bytes([UInt8])
    /// A file of `size` bytes, streamed.
    case file(path: String, size: Int64)
}

/// Where the bytes of a response body go once its status is known: to a
/// writer (a blob being downloaded), or, when `nil`, into memory.
public typealias HTTPBodyWriter = (UnsafeRawBufferPointer) throws(BerthError) -> Void

/// A response: the status, the headers and the body kept in memory (a body
/// given to a writer is not kept).
public final class HTTPResponse {
    public let status: Int
    public let reason: String
    public let headers: [(String, String)]
    public let body: [UInt8]
    /// Where the response came from, after redirects and a fall back to
    /// plain HTTP.
    public let url: HTTPURL
    /// `GET https://host/…`, for messages.
    let label: String

    init(status: Int, reason: String, headers: [(String, String)], body: [UInt8], url: HTTPURL, label: String) {
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.label = label
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

    /// The body, refusing more than `limit` bytes.
    public func readBody(limit: Int = 16 << 20) throws(BerthError) -> [UInt8] {
        if body.count > limit { throw BerthError("\(label): the response is larger than \(limit) bytes; refusing it") }
        return body
    }
}

/// HTTP and HTTPS through libcurl (`Sources/CBerthLinux/curl.c`, loaded on
/// the first request). This type decides what libcurl is told: the
/// certificates (`HTTPTrust`), the proxy (`HTTPProxy`), and redirects, which
/// are followed here so that the registry's `Authorization` header never
/// goes to another host.
public enum HTTPClient {
    /// The largest body kept in memory (manifests, configs, error pages).
    static let memoryLimit = 64 << 20

    /// Sends a request. Redirects are followed for GET and HEAD. A 2xx body
    /// goes to the writer `sink` returns for its status (nil: into memory).
    /// With `allowPlainHTTP`, an `https://` URL whose server speaks no TLS
    /// is asked again over `http://` (Docker's rule for insecure and
    /// loopback registries); `response.url` tells which answered.
    public static func send(
        _ method: String, _ url: HTTPURL, headers: [(String, String)] = [], body: HTTPBody = .none,
        followRedirects: Bool = true, timeoutSeconds: Int = 60, trust: HTTPTrust = HTTPTrust(),
        allowPlainHTTP: Bool = false,
        progress: (@Sendable (Int64) -> Void)? = nil,
        sink: ((Int) throws(BerthError) -> HTTPBodyWriter?)? = nil
    ) throws(BerthError) -> HTTPResponse {
        var url = url
        var headers = headers
        var allowPlainHTTP = allowPlainHTTP
        for _ in 0..<6 {
            let response = try sendOnce(
                method, url, headers: headers, body: body, timeoutSeconds: timeoutSeconds, trust: trust,
                allowPlainHTTP: allowPlainHTTP, progress: progress, sink: sink)
            guard followRedirects, method == "GET" || method == "HEAD", [301, 302, 303, 307, 308].contains(response.status),
                let location = response.header("Location")
            else { return response }
            let next = response.url.resolving(location)
            // Credentials go only to the server they were meant for (blob
            // redirects to storage carry their own signature).
            if next.authority != response.url.authority || next.scheme != response.url.scheme {
                headers = headers.filter { $0.0.lowercased() != "authorization" }
            }
            url = next
            if url.scheme == "http" { allowPlainHTTP = false }
        }
        throw BerthError("\(method) \(url): too many redirects")
    }

    /// What libcurl's callbacks fill in; lives on the calling thread for one request.
    private final class Exchange {
        var status = 0
        var reason = ""
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        var writer: HTTPBodyWriter?
        var decided = false
        var sink: ((Int) throws(BerthError) -> HTTPBodyWriter?)?
        var progress: (@Sendable (Int64) -> Void)?
        var error: BerthError?
        let label: String
        init(label: String) { self.label = label }

        func header(_ line: String) -> Bool {
            if line.hasPrefix("HTTP/") {
                let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
                status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                reason = parts.count > 2 ? parts[2] : ""
                headers = []
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces))
            }
            return true
        }

        /// libcurl reads the body 64 KiB at a time: report every 1 MiB.
        private var reported: Int64 = 0
        func uploaded(_ sent: Int64) {
            guard sent - reported >= 1 << 20 || reported == 0 else { return }
            reported = sent
            progress?(sent)
        }

        func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
            do throws(BerthError) {
                if !decided {
                    decided = true
                    if (200..<300).contains(status), let sink { writer = try sink(status) }
                }
                if let writer {
                    try writer(bytes)
                } else {
                    body.append(contentsOf: bytes)
                    if body.count > HTTPClient.memoryLimit {
                        throw BerthError("\(label): the response is larger than \(HTTPClient.memoryLimit) bytes; refusing it")
                    }
                }
                return true
            } catch {
                self.error = error
                return false
            }
        }
    }

    /// A CR or LF in a header value (a token from a hostile token server, a
    /// stored credential) would end the header line and forge the next
    /// ones; a control character in the URL (a `Location`, a realm) would do
    /// the same to the request line. Refused before libcurl sees them
    /// (`curl.c` refuses them again).
    static func refuseInjection(_ method: String, _ url: HTTPURL, _ headers: [(String, String)]) throws(BerthError) {
        func unsafe(_ text: String) -> Bool { text.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 } }
        if url.description.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) {
            throw BerthError(
                "\(method) \(url.description.debugDescription): the URL holds a space or control character; refusing to send it")
        }
        for (name, value) in headers where unsafe(name) || unsafe(value) || name.contains(":") || name.isEmpty {
            throw BerthError(
                "\(method) \(url): refusing to send the \(name.debugDescription) header: it holds a line break (CR or LF) "
                    + "or NUL, which would forge further headers")
        }
    }

    private static func sendOnce(
        _ method: String, _ url: HTTPURL, headers: [(String, String)], body: HTTPBody, timeoutSeconds: Int,
        trust: HTTPTrust, allowPlainHTTP: Bool, progress: (@Sendable (Int64) -> Void)?,
        sink: ((Int) throws(BerthError) -> HTTPBodyWriter?)?
    ) throws(BerthError) -> HTTPResponse {
        let tls = url.scheme == "https" ? try trust.configuration(for: url) : TLSConfiguration()
        let proxy = HTTPProxy.fromEnvironment().proxy(for: url)
        let exchange = Exchange(label: "\(method) \(url)")
        exchange.sink = sink
        exchange.progress = progress
        try refuseInjection(method, url, headers)
        var lines = ["User-Agent: berth/\(berthVersion)"]
        // libcurl adds `Expect: 100-continue` to large uploads; registries
        // answer it, but a proxy or an old server may not.
        if case .file = body { lines.append("Expect:") }
        for (name, value) in headers { lines.append("\(name): \(value)") }

        var fileDescriptor: FileDescriptor?
        var bodySize: Int64 = 0
        var bytes: [UInt8] = []
        switch body {
        case .none: break
        case .bytes(let b): bytes = b
        case .file(let path, let size):
            do throws(Errno) { fileDescriptor = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC) } catch {
                throw .syscall("open", path, error)
            }
            bodySize = size
        }
        defer { fileDescriptor?.close() }
        let hasBody: Bool
        if case .none = body { hasBody = ["PUT", "POST", "PATCH"].contains(method) } else { hasBody = true }

        var errorText = [CChar](repeating: 0, count: 512)
        let context = Unmanaged.passUnretained(exchange).toOpaque()
        let result: Int32 = withCStrings(lines) { headerPointers in
            bytes.withUnsafeBytes { bodyBytes in
                tls.caPEM.withUnsafeBufferPointer { ca in
                    withOptionalCString(tls.clientCertificate) { cert in
                        withOptionalCString(tls.clientKey) { key in
                            withOptionalCString(proxy) { proxyText in
                                var request = berth_http_request()
                                let methodText = strdup(method)
                                let urlText = strdup(url.description)
                                defer { free(methodText); free(urlText) }
                                request.method = UnsafePointer(methodText)
                                request.url = UnsafePointer(urlText)
                                request.headers = headerPointers.baseAddress
                                request.nheaders = Int32(headerPointers.count)
                                request.body = bodyBytes.baseAddress
                                request.body_len = bodyBytes.count
                                request.body_fd = fileDescriptor?.rawValue ?? -1
                                request.body_size = bodySize
                                request.has_body = hasBody ? 1 : 0
                                request.verify = tls.verify ? 1 : 0
                                request.ca_pem = ca.baseAddress
                                request.ca_pem_len = ca.count
                                request.client_cert = cert
                                request.client_key = key
                                request.proxy = proxyText
                                request.connect_timeout = 30
                                request.low_speed_seconds = timeoutSeconds
                                request.context = context
                                request.on_header = { context, line, length in
                                    let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
                                    let text = String(
                                        decoding: UnsafeRawBufferPointer(start: line, count: length), as: UTF8.self)
                                    return exchange.header(text) ? 1 : 0
                                }
                                request.on_body = { context, data, length in
                                    let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
                                    return exchange.receive(UnsafeRawBufferPointer(start: data, count: length)) ? 1 : 0
                                }
                                request.on_upload = { context, sent in
                                    Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue().uploaded(sent)
                                }
                                return berth_http_perform(&request, &errorText, errorText.count)
                            }
                        }
                    }
                }
            }
        }
        if let error = exchange.error { throw error }
        if result == Int32(BERTH_HTTP_TLS_HANDSHAKE.rawValue) && allowPlainHTTP && url.scheme == "https" {
            let plain = HTTPURL(scheme: "http", authority: url.authority, target: url.target)
            return try sendOnce(
                method, plain, headers: headers, body: body, timeoutSeconds: timeoutSeconds, trust: trust,
                allowPlainHTTP: false, progress: progress, sink: sink)
        }
        if result != Int32(BERTH_HTTP_OK.rawValue) {
            let text = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw failure(
                Int(result), text, url: url, method: method, tls: tls, proxy: proxy,
                certsRoot: trust.roots.first ?? HTTPTrust.defaultRoots[0])
        }
        if case .file(let path, let size) = body, exchange.status < 300 {
            var st = stat()
            if fstat(fileDescriptor!.rawValue, &st) == 0, Int64(st.st_size) != size {
                throw BerthError("upload \(path): the file changed size while it was sent")
            }
            progress?(size)
        }
        return HTTPResponse(
            status: exchange.status, reason: exchange.reason, headers: exchange.headers, body: exchange.body, url: url,
            label: exchange.label)
    }

    /// One line naming the host, libcurl's reason and the fix.
    static func failure(
        _ kind: Int, _ text: String, url: HTTPURL, method: String, tls: TLSConfiguration, proxy: String?,
        certsRoot: String
    ) -> BerthError {
        let host = url.authority
        let via = proxy.map { " (through the proxy \(HTTPProxy.redacted($0)))" } ?? ""
        switch UInt32(kind) {
        case BERTH_HTTP_NO_LIBRARY.rawValue:
            return .unavailable("cannot reach \(host): \(text)")
        case BERTH_HTTP_RESOLVE.rawValue:
            return .unavailable(
                "cannot reach registry \(host)\(via): lookup: \(text); check the name (Berth reaches only what this machine, or its proxy, can resolve)"
            )
        case BERTH_HTTP_CONNECT.rawValue:
            return BerthError(
                .io, "cannot reach registry \(host)\(via): connect: \(text); check that the registry runs and its address")
        case BERTH_HTTP_TIMEOUT.rawValue:
            return BerthError(.io, "\(method) \(url)\(via): timed out (\(text)); the registry or the network is too slow")
        case BERTH_HTTP_TLS_VERIFY.rawValue:
            return .permission(
                "cannot verify the TLS certificate of \(host): \(text); to trust its CA put it in \(certsRoot)/\(host)/ca.crt "
                    + "(or under /etc/docker/certs.d), or accept the risk with --tls-verify=false or \"insecure-registries\" in ROOT/config.json"
            )
        case BERTH_HTTP_TLS_CLIENT.rawValue:
            let given = tls.clientCertificate.map { " (sent \($0))" } ?? " (none was found)"
            return .permission(
                "TLS with \(host) failed over its certificates: \(text); if it wants a client certificate\(given), put client.cert and client.key in \(certsRoot)/\(host)/; a ca.crt there must be PEM"
            )
        case BERTH_HTTP_TLS_HANDSHAKE.rawValue:
            // Not .io: a handshake that failed once fails again.
            return .unavailable(
                "TLS handshake with \(host) failed: \(text); if it serves plain HTTP, use an http:// URL or, for a registry, list it under \"insecure-registries\" in ROOT/config.json"
            )
        case BERTH_HTTP_DROPPED.rawValue:
            // A TLS 1.3 server that wants a client certificate checks it
            // after the handshake and may just close the connection.
            let hint =
                url.scheme == "https" && tls.clientCertificate == nil
                ? "; if \(host) asks for a client certificate, put client.cert and client.key in \(certsRoot)/\(host)/" : ""
            return BerthError(.io, "\(method) \(url): the connection broke (\(text)); the transfer is incomplete\(hint)")
        default:
            return BerthError(.io, "\(method) \(url)\(via): \(text)")
        }
    }

}

/// Calls `body` with C strings for `strings`, kept alive for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { UnsafePointer(strdup($0)) }
    defer { for c in copies { free(UnsafeMutablePointer(mutating: c)) } }
    return copies.withUnsafeBufferPointer { body($0) }
}

/// `text` as a C string, or NULL.
func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}

#if canImport(Glibc)
import Glibc
#endif

/// What `--add-host`, `--dns`, `--dns-option`, `--dns-search`, `--ip` and
/// `--network-alias` ask of a container's network, checked with Docker's
/// CLI rules and messages (exit 125). Stored in the record as Docker's
/// `HostConfig.ExtraHosts`, `Dns`, `DnsOptions`, `DnsSearch` and the
/// network entry's `IPAMConfig.IPv4Address` and `Aliases`.
public struct NetworkOptions: Sendable, Equatable {
    /// `HOST:IP`, as given; IP may be `host-gateway`.
    public var extraHosts: [String] = []
    public var dns: [String] = []
    public var dnsOptions: [String] = []
    public var dnsSearch: [String] = []
    /// `--ip`: the fixed address on a user network.
    public var ipAddress: String?
    /// `--network-alias`: more names peers on the user network resolve.
    public var aliases: [String] = []
    /// `--mac-address`: eth0's hardware address on the first network,
    /// instead of Docker's 02:42 and the IPv4 address.
    public var macAddress: String?
    /// `--link NAME[:ALIAS]`, each named container checked at create.
    public var links: [ContainerLink] = []

    public init() {}

    /// Docker's special `--add-host` value: the host as the container reaches it.
    public static let hostGateway = "host-gateway"

    /// Whether any of them asks for a written `/etc/hosts` or `/etc/resolv.conf`.
    public var writesEtcFiles: Bool { !extraHosts.isEmpty || !dns.isEmpty || !dnsOptions.isEmpty || !dnsSearch.isEmpty }

    /// Checks every value as Docker's flag validators do (`opts.ValidateExtraHost`,
    /// `ValidateIPAddress`, `ValidateDNSSearch`).
    public func validate() throws(BerthError) {
        for h in extraHosts {
            let parts = h.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            // A name with white space in it would be several names, or a
            // line of its own, in /etc/hosts.
            guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains(where: { $0.isWhitespace }) else {
                throw .usage("invalid argument \(quoted(h)) for \"--add-host\" flag: bad format for add-host: \(quoted(h))")
            }
            let ip = String(parts[1])
            guard ip == Self.hostGateway || Self.isIP(ip) else {
                throw .usage(
                    "invalid argument \(quoted(h)) for \"--add-host\" flag: invalid IP address in add-host: \(quoted(ip))")
            }
        }
        for d in dns where !Self.isIP(d) {
            throw .usage("invalid argument \(quoted(d)) for \"--dns\" flag: \(quoted(d, marks: false)) is not an ip address")
        }
        for s in dnsSearch where !Self.isDomain(s) {
            throw .usage(
                "invalid argument \(quoted(s)) for \"--dns-search\" flag: \(quoted(s, marks: false)) is not a valid domain")
        }
        for o in dnsOptions where o.contains(where: \.isNewline) {
            throw .usage("invalid argument \(quoted(o)) for \"--dns-option\" flag: a resolver option is one line")
        }
        for a in aliases where a.isEmpty || a.contains(where: { $0.isWhitespace }) {
            throw .usage(
                "invalid argument \(quoted(a)) for \"--network-alias\" flag: an alias is a host name without white space")
        }
        if let ip = ipAddress, IPv4(ip) == nil {
            throw BerthError("invalid IPv4 address: \(quoted(ip, marks: false))")
        }
        if let mac = macAddress {
            guard let bytes = Self.macBytes(mac) else {
                throw .usage(
                    "invalid argument \(quoted(mac)) for \"--mac-address\" flag: \(quoted(mac, marks: false)) is not a valid mac address"
                )
            }
            // The kernel refuses these for an Ethernet device (EADDRNOTAVAIL at start).
            guard bytes[0] & 1 == 0, bytes.contains(where: { $0 != 0 }) else {
                throw .usage(
                    "invalid argument \(quoted(mac)) for \"--mac-address\" flag: \(quoted(mac, marks: false)) is a multicast or zero address, which an interface cannot have"
                )
            }
        }
    }

    /// The six bytes of `aa:bb:cc:dd:ee:ff` (or with dashes), or nil.
    public static func macBytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: text.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for p in parts {
            guard p.count == 2, let b = UInt8(p, radix: 16) else { return nil }
            bytes.append(b)
        }
        return bytes
    }

    /// An IPv4 or IPv6 address, as Go's `net.ParseIP` takes it.
    static func isIP(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        let trimmed = text.trimmingSpaces
        return inet_pton(AF_INET, trimmed, &buffer) == 1 || inet_pton(AF_INET6, trimmed, &buffer) == 1
    }

    /// Docker's `validateDomain`: `.` (no search domain), or labels of word
    /// characters and inner dashes joined by dots, with a letter somewhere,
    /// an optional final dot, shorter than 255 characters.
    static func isDomain(_ text: String) -> Bool {
        if text == "." { return true }
        guard text.utf8.count < 255, text.contains(where: { $0.isASCII && $0.isLetter }) else { return false }
        let body = text.hasSuffix(".") ? String(text.dropLast()) : text
        let word = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        return body.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.first, let last = label.last else { return false }
            return word(first) && word(last) && label.allSatisfy { word($0) || $0 == "-" }
        }
    }

    /// The `--add-host` lines, `host-gateway` resolved to `gateway`.
    func hostLines(gateway: IPv4?) -> String {
        var text = ""
        for h in extraHosts {
            let parts = h.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { continue }
            let ip = parts[1] == Self.hostGateway ? gateway?.description : parts[1]
            if let ip { text += "\(ip)\t\(parts[0])\n" }
        }
        return text
    }

    /// The record's members in `HostConfig` (Docker's names; null when unset)
    /// of the container named `name`.
    func hostConfigJSON(name: String) -> [(String, JSON)] {
        [
            ("ExtraHosts", extraHosts.isEmpty ? .null : .strings(extraHosts)),
            ("Links", links.isEmpty ? .null : .strings(links.map { $0.recorded(parent: name) })),
            ("Dns", .strings(dns)), ("DnsOptions", .strings(dnsOptions)), ("DnsSearch", .strings(dnsSearch)),
        ]
    }

    /// Reads them back from `HostConfig` and the network entry.
    init(hostConfig host: JSON, endpoint: JSON?) {
        extraHosts = host["ExtraHosts"]?.stringArray ?? []
        links = (host["Links"]?.stringArray ?? []).compactMap { try? ContainerLink.parse($0) }
        dns = host["Dns"]?.stringArray ?? []
        dnsOptions = host["DnsOptions"]?.stringArray ?? []
        dnsSearch = host["DnsSearch"]?.stringArray ?? []
        ipAddress = endpoint?["IPAMConfig"]?["IPv4Address"]?.stringValue
        aliases = endpoint?["Aliases"]?.stringArray ?? []
    }
}

/// A value as Go's `%q` shows it in Docker's flag errors (`"two\nlines"`),
/// so a newline in a value never splits the one error line; long values
/// shortened as `shown` does.
public func quoted(_ value: String, marks: Bool = true) -> String {
    var out = ""
    for c in shown(value).unicodeScalars {
        switch c {
        case "\"": out += marks ? "\\\"" : "\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default: out.unicodeScalars.append(c)
        }
    }
    return marks ? "\"" + out + "\"" : out
}

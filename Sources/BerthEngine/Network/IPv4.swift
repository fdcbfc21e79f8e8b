/// An IPv4 address, host byte order inside.
public struct IPv4: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Parses dotted quads (`10.88.0.2`); nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let b = UInt8(p), String(b) == p else { return nil }
            v = v << 8 | UInt32(b)
        }
        value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }

    /// The address as the kernel wants it (network byte order).
    public var networkOrder: UInt32 { value.bigEndian }

    /// Docker's MAC for an address: 02:42 then the four address bytes.
    public var mac: String {
        ([0x02, 0x42] + [24, 16, 8, 0].map { Int(value >> UInt32($0) & 255) })
            .map {
                let h = String($0, radix: 16); return h.count == 1 ? "0" + h : h
            }.joined(separator: ":")
    }

    public static func < (a: IPv4, b: IPv4) -> Bool { a.value < b.value }
}

/// An IPv4 subnet, `10.88.0.0/16`.
public struct Subnet: Hashable, Sendable, CustomStringConvertible {
    public var base: IPv4
    public var prefix: Int

    public init(base: IPv4, prefix: Int) {
        self.prefix = prefix
        self.base = IPv4(base.value & Subnet.mask(prefix))
    }

    /// Parses `A.B.C.D/N`; the host bits must be zero (Docker's rule).
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let ip = IPv4(String(parts[0])), let n = Int(parts[1]), (8...30).contains(n),
            ip.value & ~Subnet.mask(n) == 0
        else { return nil }
        base = ip
        prefix = n
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix) }
    public var mask: UInt32 { Subnet.mask(prefix) }
    public var description: String { "\(base)/\(prefix)" }
    /// The first host address, which the bridge takes.
    public var gateway: IPv4 { IPv4(base.value + 1) }
    /// The last address before broadcast.
    public var lastHost: IPv4 { IPv4((base.value | ~mask) - 1) }
    public func contains(_ ip: IPv4) -> Bool { ip.value & mask == base.value }
    public func overlaps(_ other: Subnet) -> Bool {
        let m = prefix < other.prefix ? mask : other.mask
        return base.value & m == other.base.value & m
    }
}

/// What one `-p` asks for, before host ports are chosen: a binding per
/// container port, and for Docker's `8080-8090:80` (a host range, one
/// container port) the range to pick a free host port from.
public struct PortRequest: Sendable, Equatable {
    /// The binding; `hostPort` is 0 when the host port is still to be chosen.
    public var binding: PortBinding
    /// Where to choose the host port from, when `-p` gave a host range for one container port.
    public var hostRange: ClosedRange<UInt16>?

    /// Parses Docker's forms, with ranges as its `nat.ParsePortSpec` reads
    /// them: `80`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80`,
    /// `8080-8082:80-82` (one binding per port), `8080-8090:80` (one binding,
    /// any free host port in the range), each with `/tcp` or `/udp`. Errors
    /// are Docker 20.10's words.
    public static func parse(_ text: String) throws(BerthError) -> [PortRequest] {
        var spec = Substring(text)
        var proto = "tcp"
        if let slash = spec.lastIndex(of: "/") {
            proto = String(spec[spec.index(after: slash)...]).lowercased()
            spec = spec[..<slash]
        }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var ip = "0.0.0.0", host = "", container = ""
        switch parts.count {
        case 1: container = parts[0]
        case 2: host = parts[0]; container = parts[1]
        case 3: ip = parts[0].isEmpty ? "0.0.0.0" : parts[0]; host = parts[1]; container = parts[2]
        default:
            throw BerthError(
                .invalidArgument, "Invalid port specification: \"\(text)\"; use [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]")
        }
        guard IPv4(ip) != nil else {
            throw BerthError(.invalidArgument, "Invalid ip address: \(ip); Berth publishes on IPv4 addresses only")
        }
        guard !container.isEmpty else { throw BerthError(.invalidArgument, "No port specified: \(text)<empty>") }
        guard let containers = range(container) else {
            throw BerthError(.invalidArgument, "Invalid containerPort: \(container); use a port 1-65535 or a range such as 80-82")
        }
        var hosts: ClosedRange<UInt16>?
        if !host.isEmpty {
            guard let r = range(host) else {
                throw BerthError(.invalidArgument, "Invalid hostPort: \(host); use a port 1-65535 or a range such as 8080-8082")
            }
            hosts = r
        }
        if let hosts, hosts.count != containers.count, containers.count != 1 {
            throw BerthError(
                .invalidArgument,
                "Invalid ranges specified for container and host Ports: \(container) and \(host); give both ranges the same length"
            )
        }
        guard proto == "tcp" || proto == "udp" else {
            throw BerthError(.invalidArgument, "Invalid proto: \(proto); Berth publishes tcp or udp")
        }
        return containers.enumerated().map { i, port in
            let binding = PortBinding(hostIP: ip, hostPort: 0, containerPort: port, proto: proto)
            guard let hosts else { return PortRequest(binding: binding, hostRange: nil) }
            if hosts.count == containers.count {
                var b = binding
                b.hostPort = hosts.lowerBound + UInt16(i)
                return PortRequest(binding: b, hostRange: nil)
            }
            return PortRequest(binding: binding, hostRange: hosts)
        }
    }

    /// `80` or `80-82`: ports 1-65535, the end not below the start.
    static func range(_ text: String) -> ClosedRange<UInt16>? {
        let ends = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let low = UInt16(ends[0]), low > 0 else { return nil }
        guard ends.count == 2 else { return low...low }
        guard let high = UInt16(ends[1]), high >= low else { return nil }
        return low...high
    }

    /// `--expose PORT[-PORT][/PROTO]`: the container ports a container
    /// exposes beside its image's (`-P` publishes them all), as Docker's
    /// `nat.ParsePortRange` reads them, `80/tcp` form each.
    public static func exposed(_ text: String) throws(BerthError) -> [String] {
        var spec = Substring(text)
        var proto = "tcp"
        if let slash = spec.lastIndex(of: "/") {
            proto = String(spec[spec.index(after: slash)...]).lowercased()
            spec = spec[..<slash]
        }
        guard let ports = range(String(spec)) else {
            throw BerthError(
                .invalidArgument,
                "invalid range format for --expose: \(shown(text)); use a port 1-65535 or a range such as 7000-7010, with /tcp or /udp"
            )
        }
        guard proto == "tcp" || proto == "udp" else {
            throw BerthError(.invalidArgument, "Invalid proto: \(shown(proto)) for --expose; Berth handles tcp and udp")
        }
        return ports.map { "\($0)/\(proto)" }
    }
}

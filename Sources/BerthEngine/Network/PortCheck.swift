#if canImport(Glibc)
import Glibc
#endif

/// Refuses a published host port that is already taken.
public enum PortCheck {
    /// Throws Docker's error if another running container of the store
    /// publishes one of `ports`, or if a program on the host has bound it.
    public static func check(_ ports: [PortBinding], lifecycle: Lifecycle, except id: String?) throws(BerthError) {
        guard !ports.isEmpty else { return }
        for other in lifecycle.containers.all() where other.id != id && other.state.isActive {
            for p in ports {
                if let clash = other.ports.first(where: {
                    $0.hostPort == p.hostPort && $0.proto == p.proto
                        && ($0.hostIP == p.hostIP || $0.hostIP == "0.0.0.0" || p.hostIP == "0.0.0.0")
                }) {
                    throw .conflict(
                        "driver failed programming external connectivity on endpoint \(other.name): Bind for \(clash.hostIP):\(clash.hostPort) failed: port is already allocated; choose another host port"
                    )
                }
            }
        }
        let fds = try HostNetwork.reserve(ports)  // a trial: taken by some program?
        fds.forEach { close($0) }
    }
}

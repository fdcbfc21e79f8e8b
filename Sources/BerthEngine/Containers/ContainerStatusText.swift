/// The status line `ps` shows and the API's container list carries.
extension Container {
    /// Docker's STATUS column: `Created`, `Up 8 seconds`, `Up 2 minutes (Paused)`, `Exited (137) About a minute ago`.
    public func statusText(now: Double) -> String {
        let c = self
        switch c.state.status {
        case .running, .paused:
            let up = "Up " + Format.duration(seconds: now - (c.state.startedAt?.asDouble ?? now))
            return c.state.status == .paused ? up + " (Paused)" : up
        case .exited:
            let ago = Format.duration(seconds: now - (c.state.finishedAt?.asDouble ?? now))
            return "Exited (\(c.state.exitCode)) \(ago) ago"
        case .dead: return "Dead"
        case .restarting: return "Restarting"
        case .removing: return "Removal In Progress"
        case .created: return "Created"
        }
    }
}

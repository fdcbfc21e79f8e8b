import BerthEngine

/// `--restart` for `create` and `run`, kept apart from `ContainerFlags`
/// so the policy's parsing stays in one place.
enum RestartFlags {
    static let restart = Flag.string(
        "restart", help: "Restart policy to apply when a container exits (no, always, on-failure[:max-retries], unless-stopped)",
        completion: .words(["no", "always", "on-failure", "unless-stopped"]), default: "no")

    static let all: [any AnyFlag] = [restart]

    /// Reads the flag into the options (Docker's errors for a bad policy).
    static func apply(_ args: ParsedArguments, to o: inout CreateOptions) throws(BerthError) {
        o.restartPolicy = try RestartPolicy.parse(args[Self.restart] ?? "")
    }
}

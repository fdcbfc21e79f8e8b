/// Where completion finds the names that live in the store. The engine
/// implements it over the store; tests use a fixed list.
public protocol CompletionSource: Sendable {
    /// Image references (`busybox:latest`) and short image IDs.
    func imageNames() -> [String]
    /// Container names and short IDs whose state is in `states`
    /// (`created`, `running`, `paused`, `exited`); nil means every state.
    func containerNames(states: Set<String>?) -> [String]
}

/// A source with nothing in it, for when no store is reachable.
public struct EmptyCompletionSource: CompletionSource {
    /// Creates the empty source.
    public init() {}
    public func imageNames() -> [String] { [] }
    public func containerNames(states: Set<String>?) -> [String] { [] }
}

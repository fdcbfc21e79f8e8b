import BerthCore

/// What every command that touches the store starts from; public so that
/// commands registered by plugins (the oci plugin's `bundle`) open the store
/// the same way as the built-ins.
extension CommandContext {
    /// The store's layout, with its directories created and garbage from
    /// killed processes swept away.
    /// A non-root user whose namespace did not come up gets its one line
    /// here (`Rootless.failure`), so `--help` and `version` still work.
    public func openStore() throws(BerthError) -> StoreLayout {
        if let failure = Rootless.failure { throw .unavailable(failure) }
        let layout = StoreLayout(root: root)
        try layout.ensure()
        layout.sweepStaging()
        return layout
    }

    /// The lifecycle over this context's store.
    public func lifecycle() throws(BerthError) -> Lifecycle {
        Lifecycle(layout: try openStore(), registry: registry)
    }
}

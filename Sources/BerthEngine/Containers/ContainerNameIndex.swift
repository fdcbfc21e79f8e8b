#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// The container name index: `ROOT/names/NAME` is a symbolic link whose
/// target is the ID of the container named NAME.
///
/// Why: resolving a name (and so a short ID, which Docker tries only after
/// names) and checking a new name's uniqueness used to decode every record,
/// which made each `run`, `rm`, `stop`… O(number of containers) and
/// `rm -f $(ps -aq)` of 1,000 containers O(n²). A link is one `readlink`.
///
/// What keeps it truthful, also after a `kill -9` at any point:
/// - every container whose record names NAME has the link NAME → its ID: a
///   create makes the link before it renames the container into
///   `containers/`, a rename makes the new link before it saves the new
///   name, a removal drops the link only after the directory is gone (all
///   under the containers lock but the removal, which drops only a link
///   pointing at its own ID);
/// - so a crash can leave only extra links (to a container that is gone or
///   now has another name), never a missing one, and every reader checks a
///   link against the record it points at (`ContainerStore.owner(of:)`): a
///   stale link is a free name, and the next create of that name replaces it;
/// - a store made before the index (no `names/` directory) gets one built
///   from its records by the first command that needs it, in staging renamed
///   into place, so a killed build leaves no half index.
struct ContainerNameIndex {
    let layout: StoreLayout

    func link(_ name: String) -> String { layout.containerNames + "/" + name }

    /// The ID the link for `name` points at, unchecked.
    func id(of name: String) -> String? {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
        return FileSystem.linkTarget(link(name))
    }

    /// Points `name` at `id`, replacing a stale link. The caller holds the
    /// containers lock and has checked that no container has the name.
    /// The new link is made in the store's `tmp/`, named as a staging entry
    /// (`namelink-PID-RANDOM`), so the sweep of every command
    /// (`StoreLayout.sweepStaging`) removes one a killed process left, and
    /// `names/` holds names only. A temp link next to the names
    /// (`NAME.tmp-PID`) needed a listing of all of `names/` at each create
    /// to be swept (1.9 ms of CPU per `run` at 1,000 containers), and that
    /// sweep took a container named like `web.tmp-99999` for a temp link
    /// and dropped its name.
    func claim(_ name: String, for id: String) throws(BerthError) {
        let temporary = "\(layout.tmp)/namelink-\(getpid())-\(RandomID.hex64().prefix(8))"
        try FileSystem.symlinkAtomically(id, at: link(name), temporary: temporary)
    }

    /// Drops the link for `name` if it still points at `id`. With `holding`,
    /// returns an `O_PATH` descriptor of the dropped link (else -1), so that
    /// its inode is freed only when the caller closes it: a 64-character
    /// target does not fit in the inode, the link has a block, and freeing a
    /// block can be a synchronous discard (`ContainerStore.purge`).
    @discardableResult
    func release(_ name: String, of id: String, holding: Bool = false) -> Int32 {
        guard !name.isEmpty, self.id(of: name) == id else { return -1 }
        let held = holding ? open(link(name), berth_o_path() | O_NOFOLLOW | O_CLOEXEC) : -1
        unlink(link(name))
        return held
    }

    /// Builds the index from the records if the store has none yet. No lock
    /// is needed: the build happens in staging and is renamed into place,
    /// and a loser of that race drops its copy. A container created
    /// meanwhile cannot be missed: its create makes sure `names/` exists
    /// before it links its name.
    func ensure(_ store: ContainerStore) throws(BerthError) {
        if FileSystem.isDirectory(layout.containerNames) { return }
        let staging = try layout.makeStaging("names")
        for id in FileSystem.list(layout.containers) {
            let name: String
            switch store.loadRecord(id: id) {
            case .missing: continue
            case .damaged(let text, let reason): name = store.damaged(id: id, text: text, reason: reason).name
            case .ok(let c): name = c.name
            }
            if !name.isEmpty { _ = symlink(id, staging + "/" + name) }
        }
        try install(staging)
    }

    /// Renames a built index into place, never over one another command
    /// put there first. A plain rename(2) replaces an empty directory: a
    /// loser of the race to build the index replaced the winner's `names/`
    /// while it was still empty, and the winner's link, renamed into the
    /// directory that had just been unlinked, failed with ENOENT (one of
    /// twenty parallel `run -d` on a new store, `NetworkTests`).
    func install(_ staging: String) throws(BerthError) {
        var moved = berth_rename_noreplace(staging, layout.containerNames) == 0
        // A file system without RENAME_NOREPLACE: the old race, rarely lost.
        if !moved && errno == EINVAL { moved = rename(staging, layout.containerNames) == 0 }
        if !moved {
            let err = Errno.current
            try? FileSystem.removeTree(staging)
            if FileSystem.isDirectory(layout.containerNames) { return }  // another command built it first
            throw .syscall(
                "rename", "\(staging) to \(layout.containerNames)", err,
                fix:
                    "\(layout.containerNames) is not a directory: move it aside, and the next command rebuilds the name index from the records"
            )
        }
        FileSystem.syncDirectory(of: layout.containerNames)
    }
}

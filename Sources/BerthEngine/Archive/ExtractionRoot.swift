#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux

/// The destination directory of an extraction, held open as a descriptor.
/// Every path below it is resolved with openat2(RESOLVE_IN_ROOT), so a
/// symlink in the layer, absolute or relative, is resolved as it would be
/// inside the container and can never lead outside the root; the last
/// component is then handled with `*at` calls that do not follow symlinks.
final class ExtractionRoot {
    /// The root, O_RDONLY|O_DIRECTORY (not O_PATH, so its own metadata can be set).
    let fd: FileDescriptor
    /// The archive's name, for error messages.
    let archive: String
    /// The root's path, for error messages.
    let path: String

    init(path: String, archive: String) throws(BerthError) {
        self.archive = archive
        self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        do {
            fd = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        } catch {
            throw .syscall("open extraction directory", path, error, fix: "create it as an empty directory first")
        }
    }

    deinit { fd.close() }

    /// Resolves `path` (components below the root) inside the root.
    func open(_ components: ArraySlice<String>, _ flags: Int32) throws(Errno) -> FileDescriptor {
        let path = components.isEmpty ? "." : components.joined(separator: "/")
        while true {
            do {
                return try FileDescriptor.openInRoot(fd, path, flags)
            } catch  where error == .EAGAIN {
                // openat2 returns EAGAIN when a concurrent rename raced with
                // its ".." handling inside the root; retrying is the remedy.
                continue
            }
        }
    }

    /// An O_PATH descriptor of the directory `components`, creating missing
    /// directories (mode 0755, root-owned, like tar) one level at a time.
    func directory(_ components: ArraySlice<String>, entry: String) throws(BerthError) -> FileDescriptor {
        do {
            return try open(components, berth_o_path() | O_DIRECTORY)
        } catch  where error == .ENOENT {
            // Fall through and create what is missing.
        } catch {
            throw failure("resolve directory", components.joined(separator: "/"), entry: entry, error)
        }
        guard !components.isEmpty else { throw failure("open", ".", entry: entry, .ENOENT) }
        var current: FileDescriptor
        do { current = try open([], berth_o_path() | O_DIRECTORY) } catch { throw failure("open", ".", entry: entry, error) }
        for depth in 1...components.count {
            let prefix = components.prefix(depth)
            var next: FileDescriptor
            do {
                next = try open(prefix, berth_o_path() | O_DIRECTORY)
            } catch {
                let name = components[components.startIndex + depth - 1]
                // mkdirat creates exactly this component in the directory
                // already resolved in the root; it never follows a symlink
                // (an existing one gives EEXIST and the reopen below fails).
                if error != .ENOENT || (mkdirat(current.rawValue, name, 0o755) != 0 && errno != EEXIST) {
                    let err = error == .ENOENT ? Errno.current : error
                    current.close()
                    throw failure("create parent directory", prefix.joined(separator: "/"), entry: entry, err)
                }
                do {
                    next = try open(prefix, berth_o_path() | O_DIRECTORY)
                } catch {
                    current.close()
                    throw failure("create parent directory", prefix.joined(separator: "/"), entry: entry, error)
                }
            }
            current.close()
            current = next
        }
        return current
    }

    /// Removes whatever is at `leaf` in `parent` so an entry can be created
    /// there. An existing directory is kept when `keepDirectory` (a directory
    /// entry only updates its metadata) and removed recursively otherwise, as
    /// Docker does. Returns whether a directory was kept.
    func clear(
        _ leaf: String, in parent: FileDescriptor, keepDirectory: Bool, entry: String, refuseTypeChange: Bool = false
    ) throws(BerthError) -> Bool {
        var st = stat()
        if fstatat(parent.rawValue, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            if errno == ENOENT { return false }
            throw failure("lstat", entry, entry: entry, .current)
        }
        let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        if refuseTypeChange && isDirectory != keepDirectory {
            let relative = entry.hasSuffix("/") ? String(entry.dropLast()) : entry
            let there = path == "/" ? "/" + relative : path + "/" + relative
            throw .conflict(
                isDirectory
                    ? "cannot overwrite directory \"\(there)\" with non-directory; nothing was changed there"
                    : "cannot overwrite non-directory \"\(there)\" with directory; nothing was changed there")
        }
        if isDirectory {
            if keepDirectory { return true }
            do { try removeTree(leaf, in: parent.rawValue) } catch {
                throw failure("remove directory", entry, entry: entry, error)
            }
            return false
        }
        if unlinkat(parent.rawValue, leaf, 0) != 0 && errno != ENOENT {
            throw failure("unlink", entry, entry: entry, .current)
        }
        return false
    }

    /// rm -rf of `name` in `dirfd`, never following a symlink.
    private func removeTree(_ name: String, in dirfd: Int32) throws(Errno) {
        let child = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if child < 0 { throw .current }
        let dup = Glibc.dup(child)
        guard dup >= 0, let dir = fdopendir(dup) else {
            let err = Errno.current
            if dup >= 0 { Glibc.close(dup) }
            Glibc.close(child)
            throw err
        }
        var names: [String] = []
        while let item = readdir(dir) {
            let entryName = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if entryName != "." && entryName != ".." { names.append(entryName) }
        }
        closedir(dir)
        defer { Glibc.close(child) }
        for item in names {
            if unlinkat(child, item, 0) == 0 || errno == ENOENT { continue }
            guard errno == EISDIR else { throw .current }
            try removeTree(item, in: child)
        }
        if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw .current }
    }

    /// Owner, mode, then xattrs, on an open (non-O_PATH) descriptor. chown
    /// comes first because it clears setuid/setgid and file capabilities.
    func setOwnerModeXattrs(_ target: FileDescriptor, _ entry: TarEntry, name: String) throws(BerthError) {
        if fchown(target.rawValue, entry.uid, entry.gid) != 0 { throw failure("fchown", name, entry: name, .current) }
        if fchmod(target.rawValue, mode_t(entry.mode & 0o7777)) != 0 { throw failure("fchmod", name, entry: name, .current) }
        for key in entry.xattrs.keys.sorted() where Self.allowed(key) {
            let value = entry.xattrs[key]!
            let status = value.withUnsafeBytes { fsetxattr(target.rawValue, key, $0.baseAddress, $0.count, 0) }
            if status != 0 && !Self.ignorable(errno) { throw failure("fsetxattr \(key) on", name, entry: name, .current) }
        }
    }

    /// Sets an xattr by path for nodes that cannot be opened for it (fifos,
    /// devices): through /proc/self/fd of the already-resolved parent, with
    /// lsetxattr so the leaf itself is never followed.
    func setXattrs(_ entry: TarEntry, leaf: String, in parent: FileDescriptor, name: String) throws(BerthError) {
        let path = "/proc/self/fd/\(parent.rawValue)/\(leaf)"
        for key in entry.xattrs.keys.sorted() where Self.allowed(key) {
            let value = entry.xattrs[key]!
            let status = value.withUnsafeBytes { lsetxattr(path, key, $0.baseAddress, $0.count, 0) }
            if status != 0 && !Self.ignorable(errno) { throw failure("lsetxattr \(key) on", name, entry: name, .current) }
        }
    }

    /// A layer may not plant overlayfs control xattrs (redirect, metacopy,
    /// opaque): only whiteout conversion sets those, deliberately.
    static func allowed(_ key: String) -> Bool { !Rootless.isOverlayMarker(key) }

    /// Like Docker, an xattr the file system does not support, or that only a
    /// more privileged user may set, is skipped rather than failing the pull.
    static func ignorable(_ err: Int32) -> Bool { err == EOPNOTSUPP || err == EPERM }

    /// atime = mtime = the entry's mtime, on `leaf` itself (never a symlink's target).
    func setTimes(_ seconds: Int64, _ nanoseconds: Int32, leaf: String, in parent: FileDescriptor, name: String)
        throws(BerthError)
    {
        var times = [
            timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds)),
            timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds)),
        ]
        if utimensat(parent.rawValue, leaf, &times, AT_SYMLINK_NOFOLLOW) != 0 {
            throw failure("utimensat", name, entry: name, .current)
        }
    }

    /// An error naming the call, the object and the entry, with a fix.
    func failure(_ call: String, _ object: String, entry: String, _ err: Errno) -> BerthError {
        let where_ = object == entry ? "\"\(object)\"" : "\"\(object)\" (entry \"\(entry)\")"
        let fix: String
        switch err.rawValue {
        case ENOSPC: fix = "free some space on the store's file system"
        case EPERM, EACCES: fix = "extracting a layer needs root to set owners and create devices"
        case EOPNOTSUPP: fix = "the store's file system lacks this feature; use ext4, xfs or btrfs"
        case ENOSYS: fix = "Berth needs Linux 5.6 or later (openat2)"
        case ENOENT, ENOTDIR, ELOOP: fix = "the archive is inconsistent (a parent is missing or not a directory)"
        case EINVAL where Rootless.isActive && call.contains("chown"):
            fix =
                "the file's owner is beyond the user's subordinate ids (rootless); give the user a larger range "
                + "in /etc/subuid and /etc/subgid (docs/rootless.md)"
        default: fix = "check the store's file system"
        }
        return .syscall("extract \(archive): \(call)", where_, err, fix: fix)
    }
}

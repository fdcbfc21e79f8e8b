#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// Path and file helpers used by the store and the plugins. Every write that
/// must survive a crash goes through `writeAtomically`.
public enum FileSystem {
    /// The canonical absolute path (symlinks resolved), or `path` itself if
    /// it does not exist.
    public static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether anything (even a dangling symlink) exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Whether `path` is a directory (following symlinks).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstatFollow(path, &st) && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` itself (not a symlink's target) is a directory.
    public static func isRealDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` itself (not a symlink's target) is a regular file.
    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    private static func lstatFollow(_ path: String, _ st: inout stat) -> Bool {
        fstatat(AT_FDCWD, path, &st, 0) == 0
    }

    /// The target of a symlink, or nil.
    public static func readLink(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { readlink(path, $0, buf.count - 1) }
        }
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(BerthError) {
        // Usually all there (every command ensures the store's directories):
        // one stat instead of a mkdir per component.
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return }
        // Next most often only the last is missing (a container's cgroup in
        // each of eight hierarchies): one mkdir.
        if mkdir(path, mode) == 0 { return }
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw .syscall("mkdir", current, .current, fix: "check that the parent is a writable directory")
            }
        }
    }

    /// Reads a whole file (`path` relative to `directory` when it is not absolute).
    public static func read(_ path: String, relativeTo directory: FileDescriptor = .cwd) throws(BerthError) -> [UInt8] {
        do {
            let fd = try FileDescriptor.open(path, O_RDONLY, relativeTo: directory)
            defer { fd.close() }
            return try fd.readAll()
        } catch {
            throw .syscall("read", path, error)
        }
    }

    /// Reads a whole file as UTF-8 text.
    public static func readText(_ path: String) throws(BerthError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// Writes `bytes` to `path` so that a crash leaves either the old or the
    /// new content, never a mix: temp file, fsync, rename, fsync the directory.
    /// `durable: false` skips the two fsyncs: a killed process still leaves
    /// the old file or the new one, but a power loss may lose the new one.
    /// Such a write also swaps the new file in (`RENAME_EXCHANGE`) and then
    /// unlinks the old one, rather than renaming over it: ext4 (`auto_da_alloc`)
    /// allocates the blocks of a file renamed over another at once, so each
    /// replaced record would cost a block allocation and, when it is deleted
    /// a moment later, a block free; on a store mounted with `discard` and
    /// without a journal that free is a synchronous discard of 2-3 ms. A
    /// swapped-in file keeps its delayed allocation: a `--rm` container's
    /// records are gone before any block was written.
    public static func writeAtomically(
        _ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true
    ) throws(BerthError) {
        let tmp = "\(path).tmp-\(getpid())"
        do throws(Errno) {
            let fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
            do {
                try fd.writeAll(bytes)
                if durable { try fd.sync() }
            } catch {
                fd.close()
                throw error
            }
            fd.close()
            stopBeforeRenameIfAsked(path)
            if !durable && isRegularFile(path) && berth_rename_exchange(tmp, path) == 0 {
                unlink(tmp)  // the old content; a crash before this leaves it to the sweep of temp files
                return
            }
            if rename(tmp, path) != 0 { throw .current }
            if durable { syncDirectory(of: path) }
        } catch {
            unlink(tmp)
            throw .syscall("write", path, error, fix: "check free space and permissions of the store")
        }
    }

    /// Makes `path` a symbolic link to `target`, replacing what is there in
    /// one step: the link is made as `temporary` (by default `PATH.tmp-PID`,
    /// which `removeStaleTempFiles` sweeps), then renamed over `PATH`, so a
    /// crash leaves the old link or the new one (and perhaps the temp link).
    /// `temporary` must be on the same file system as `path`. Honours the
    /// crash-test hook of `writeAtomically`.
    public static func symlinkAtomically(
        _ target: String, at path: String, temporary: String? = nil
    ) throws(BerthError) {
        let tmp = temporary ?? "\(path).tmp-\(getpid())"
        unlink(tmp)
        if symlink(target, tmp) != 0 {
            throw .syscall("symlink", path, .current, fix: "check free space and permissions of the store")
        }
        stopBeforeRenameIfAsked(path)
        if rename(tmp, path) != 0 {
            let err = Errno.current
            unlink(tmp)
            throw .syscall("rename", tmp, err, fix: "check free space and permissions of the store")
        }
    }

    /// The target of a symbolic link, or nil if `path` is not one.
    public static func linkTarget(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBufferPointer { b in
            readlink(path, UnsafeMutableRawPointer(b.baseAddress!).assumingMemoryBound(to: CChar.self), b.count)
        }
        guard n > 0 && n < buffer.count else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// Removes the `FILE.tmp-PID` files in `directory` whose writer is gone:
    /// what `writeAtomically` leaves when its process is killed between the
    /// write and the rename. A live process's temp file is never touched.
    /// Returns the names removed.
    @discardableResult
    public static func removeStaleTempFiles(in directory: String) -> [String] {
        var removed: [String] = []
        for name in list(directory) {
            guard let pid = name.utf8Suffix(after: ".tmp-", last: true).flatMap({ Int32($0) }), pid > 0,
                kill(pid, 0) != 0 && errno == ESRCH
            else { continue }
            if unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed
    }

    /// A crash-test hook: with `BERTH_TEST_STOP_BEFORE_RENAME=TEXT` in the
    /// environment, a write to a path containing TEXT stops the process
    /// (SIGSTOP) with its temp file written and not yet renamed, so a test
    /// can kill it exactly there. One getenv per write otherwise. Also called
    /// before other renames that commit something (a container directory
    /// moved into `containers/`).
    public static func stopBeforeRenameIfAsked(_ path: String) {
        guard let text = getenv("BERTH_TEST_STOP_BEFORE_RENAME"), path.contains(String(cString: text)) else { return }
        raise(SIGSTOP)
    }

    /// Writes text atomically.
    public static func writeAtomically(_ path: String, text: String) throws(BerthError) {
        try writeAtomically(path, Array(text.utf8))
    }

    /// fsyncs the directory holding `path`, so a rename in it is durable.
    public static func syncDirectory(of path: String) {
        let dir = parent(of: path)
        if let fd = try? FileDescriptor.open(dir, O_RDONLY | O_DIRECTORY) {
            try? fd.sync()
            fd.close()
        }
    }

    /// The parent directory of a path (`/a/b` → `/a`).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of a path.
    public static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Names in a directory, without `.` and `..`; empty if it does not exist.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// rm -rf that never follows a symlink out of the tree and crosses no
    /// mount point it meets (a mounted directory fails with EBUSY instead).
    public static func removeTree(_ path: String) throws(BerthError) {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return }
            throw .syscall("lstat", path, .current)
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            if unlink(path) != 0 && errno != ENOENT { throw .syscall("unlink", path, .current) }
            return
        }
        let dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if dirfd < 0 { throw .syscall("open", path, .current) }
        do throws(Errno) {
            try removeContents(of: dirfd)
        } catch {
            close(dirfd)
            throw .syscall("remove", path, error, fix: "check for mounts below it (grep \(path) /proc/self/mountinfo)")
        }
        // Removed while still open: the directory's inode is freed at the
        // close, after the parent's lock is released, and not inside rmdir.
        // Freeing a block can be a synchronous discard of milliseconds (ext4
        // mounted with `discard` and no journal), which would hold the
        // parent (the store's tmp/, say) locked against every other command.
        defer { close(dirfd) }
        if rmdir(path) != 0 && errno != ENOENT {
            throw .syscall("rmdir", path, .current, fix: "check for mounts below it")
        }
    }

    /// Empties a directory without removing it (same rules as `removeTree`).
    public static func removeTreeContents(_ path: String) throws(Errno) {
        let dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if dirfd < 0 { throw .current }
        defer { close(dirfd) }
        try removeContents(of: dirfd)
    }

    private static func removeContents(of dirfd: Int32) throws(Errno) {
        // A directory on another mount is a mount point (a volume, a bind of
        // a host directory): never empty it. Without mount IDs (kernels
        // before 5.8) st_dev still catches mounts of other filesystems.
        var mount: UInt64 = 0
        let haveMountID = berth_mount_id(dirfd, &mount) == 0
        var st = stat()
        guard fstat(dirfd, &st) == 0 else { throw .current }
        let device = st.st_dev
        let dup = Glibc.dup(dirfd)
        guard let dir = fdopendir(dup) else { close(dup); throw .current }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        for name in names {
            if unlinkat(dirfd, name, 0) == 0 || errno == ENOENT { continue }
            guard errno == EISDIR else { throw .current }
            let child = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if child < 0 { throw .current }
            defer { close(child) }
            var childMount: UInt64 = 0
            var cst = stat()
            if haveMountID {
                if berth_mount_id(child, &childMount) == 0 && childMount != mount { throw Errno(EBUSY) }
            } else if fstat(child, &cst) == 0 && cst.st_dev != device {
                throw Errno(EBUSY)  // (btrfs subvolumes differ in st_dev too, hence mount IDs first)
            }
            try removeContents(of: child)
            if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw .current }
        }
    }

    /// Bytes used on disk by a tree (st_blocks × 512), each inode counted once,
    /// like `du -s`. Used for SIZE columns and disk-accounting experiments.
    public static func diskUsage(_ path: String) -> Int64 {
        var seen = Set<UInt64>()
        return usage(path, &seen)
    }

    private static func usage(_ path: String, _ seen: inout Set<UInt64>) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        var total: Int64 = 0
        if st.st_nlink <= 1 || seen.insert(UInt64(st.st_ino)).inserted { total += Int64(st.st_blocks) * 512 }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in list(path) { total += usage(path + "/" + name, &seen) }
        }
        return total
    }

    /// Sum of apparent sizes of regular files and symlinks in a tree, each
    /// inode counted once (hard links are free), like Docker's image SIZE.
    public static func contentSize(_ path: String) -> Int64 {
        var seen = Set<UInt64>()
        return content(path, &seen)
    }

    private static func content(_ path: String, _ seen: inout Set<UInt64>) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            return list(path).reduce(0) { $0 + content(path + "/" + $1, &seen) }
        }
        if st.st_nlink > 1 && !seen.insert(UInt64(st.st_ino)).inserted { return 0 }
        return Int64(st.st_size)
    }
}

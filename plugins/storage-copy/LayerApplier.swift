#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import CBerthLinux

/// Copies one unpacked layer (overlay format) onto a directory, honouring its
/// whiteouts (0:0 character devices) and opaque directories, and preserving
/// owners, modes, times, xattrs, hard links, devices and fifos.
struct LayerApplier {
    /// Source inode → destination path, so hard links stay hard links.
    private var links: [UInt64: String] = [:]
    private var dirTimes: [(String, stat)] = []

    mutating func apply(_ layer: String, onto root: String) throws(Errno) {
        try copyChildren(layer, root)
        // Directory times last: creating children changed them.
        for (path, st) in dirTimes.reversed() { setTimes(path, st) }
    }

    private mutating func copyChildren(_ src: String, _ dst: String) throws(Errno) {
        for name in FileSystem.list(src) {
            try copyEntry(src + "/" + name, dst + "/" + name)
        }
    }

    private mutating func copyEntry(_ src: String, _ dst: String) throws(Errno) {
        var st = stat()
        guard lstat(src, &st) == 0 else { throw .current }
        let type = st.st_mode & S_IFMT
        if type == S_IFCHR && st.st_rdev == 0 {
            try removeExisting(dst)  // a whiteout: the file is deleted in this layer
            return
        }
        if type == S_IFDIR {
            try copyDirectory(src, dst, st)
            return
        }
        try removeExisting(dst)
        if st.st_nlink > 1, let first = links[UInt64(st.st_ino)] {
            if link(first, dst) != 0 { throw .current }
            return
        }
        switch type {
        case S_IFREG: try copyFile(src, dst, st)
        case S_IFLNK: try copySymlink(src, dst)
        default: if mknod(dst, st.st_mode, st.st_rdev) != 0 { throw .current }
        }
        if st.st_nlink > 1 { links[UInt64(st.st_ino)] = dst }
        try setMetadata(src, dst, st, isLink: type == S_IFLNK)
    }

    private mutating func copyDirectory(_ src: String, _ dst: String, _ st: stat) throws(Errno) {
        var existing = stat()
        let exists = lstat(dst, &existing) == 0
        if exists && (existing.st_mode & S_IFMT) != S_IFDIR { try removeExisting(dst) }
        if !exists || (existing.st_mode & S_IFMT) != S_IFDIR {
            if mkdir(dst, 0o700) != 0 { throw .current }
        } else if isOpaque(src) {
            try FileSystem.removeTreeContents(dst)  // an opaque dir hides everything below it
        }
        try copyChildren(src, dst)
        try setMetadata(src, dst, st, isLink: false)
        dirTimes.append((dst, st))
    }

    private func isOpaque(_ path: String) -> Bool {
        var value: UInt8 = 0
        return lgetxattr(path, Rootless.opaqueXattr, &value, 1) == 1 && value == UInt8(ascii: "y")
    }

    private func copyFile(_ src: String, _ dst: String, _ st: stat) throws(Errno) {
        let input = try FileDescriptor.open(src, O_RDONLY | O_NOFOLLOW)
        defer { input.close() }
        let output = try FileDescriptor.open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        defer { output.close() }
        var remaining = Int(st.st_size)
        while remaining > 0 {
            let n = ignoringEINTR { berth_copy_file_range(input.rawValue, output.rawValue, UInt(remaining)) }
            if n < 0 { throw .current }
            if n == 0 { break }
            remaining -= Int(n)
        }
    }

    private func copySymlink(_ src: String, _ dst: String) throws(Errno) {
        guard let target = FileSystem.readLink(src) else { throw .current }
        if symlink(target, dst) != 0 { throw .current }
    }

    private func setMetadata(_ src: String, _ dst: String, _ st: stat, isLink: Bool) throws(Errno) {
        if lchown(dst, st.st_uid, st.st_gid) != 0 { throw .current }
        // chmod after chown: chown clears setuid and setgid bits.
        if !isLink && chmod(dst, st.st_mode & 0o7777) != 0 { throw .current }
        copyXattrs(src, dst)
        if (st.st_mode & S_IFMT) != S_IFDIR { setTimes(dst, st) }
    }

    private func copyXattrs(_ src: String, _ dst: String) {
        var names = [CChar](repeating: 0, count: 4096)
        let size = llistxattr(src, &names, names.count)
        guard size > 0 else { return }
        var start = 0
        for i in 0..<size where names[i] == 0 {
            let name = String(cString: Array(names[start...i]))
            start = i + 1
            if Rootless.isOverlayMarker(name) { continue }  // overlay's own markers stay behind
            var value = [UInt8](repeating: 0, count: 65536)
            let len = lgetxattr(src, name, &value, value.count)
            if len >= 0 { _ = lsetxattr(dst, name, value, len, 0) }
        }
    }

    private func setTimes(_ path: String, _ st: stat) {
        var times = [st.st_atim, st.st_mtim]
        _ = utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    private func removeExisting(_ path: String) throws(Errno) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            do { try FileSystem.removeTree(path) } catch { throw .EBUSY }
        } else if unlink(path) != 0 {
            throw .current
        }
    }
}

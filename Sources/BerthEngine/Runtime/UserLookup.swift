#if canImport(Glibc)
import Glibc
#endif

/// A user as the kernel wants it.
public struct ResolvedUser: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    public var home: String

    public init(uid: UInt32, gid: UInt32, groups: [UInt32], home: String) {
        self.uid = uid; self.gid = gid; self.groups = groups; self.home = home
    }
}

/// Resolves `-u user[:group]` against the image's /etc/passwd and /etc/group,
/// read with openat2 RESOLVE_IN_ROOT so a symlinked /etc cannot point at the host's.
public enum UserLookup {
    public static func resolve(_ spec: String, rootfs: String, groupAdd: [String] = []) throws(BerthError) -> ResolvedUser {
        // `:1000` is uid 0 with gid 1000: an empty part is not dropped.
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts.first ?? ""
        let passwd = entries(rootfs, "/etc/passwd")
        let groupFile = entries(rootfs, "/etc/group")
        var user = ResolvedUser(uid: 0, gid: 0, groups: [], home: "/root")
        if !userPart.isEmpty {
            if let line = passwd.first(where: { $0[0] == userPart }) ?? passwd.first(where: { $0[2] == userPart }),
                line.count >= 6, let uid = UInt32(line[2]), let gid = UInt32(line[3])
            {
                user = ResolvedUser(uid: uid, gid: gid, groups: [], home: line[5])
            } else if let uid = UInt32(userPart) {
                user = ResolvedUser(uid: uid, gid: 0, groups: [], home: "/")
            } else {
                throw BerthError(
                    "unable to find user \(shown(userPart)): no matching entries in the image's /etc/passwd; use a numeric UID or a user the image has"
                )
            }
        }
        if parts.count > 1, !parts[1].isEmpty {
            let g = parts[1]
            if let line = groupFile.first(where: { $0[0] == g }), line.count >= 3, let gid = UInt32(line[2]) {
                user.gid = gid
            } else if let gid = UInt32(g) {
                user.gid = gid
            } else {
                throw BerthError(
                    "unable to find group \(shown(g)): no matching entries in the image's /etc/group; use a numeric GID")
            }
        }
        let name = passwd.first { UInt32($0[2]) == user.uid }?[0]
        user.groups =
            [user.gid]
            + groupFile.compactMap { line -> UInt32? in
                guard line.count >= 4, let name, line[3].split(separator: ",").contains(Substring(name)) else { return nil }
                return UInt32(line[2])
            }
        // --group-add: a name from the image's /etc/group, or a number.
        for g in groupAdd {
            guard let gid = groupFile.first(where: { $0[0] == g }).flatMap({ UInt32($0[2]) }) ?? UInt32(g) else {
                throw .notFound(
                    "unable to find group \(shown(g)): no matching entries in the image's /etc/group; use a numeric GID")
            }
            if !user.groups.contains(gid) { user.groups.append(gid) }
        }
        return user
    }

    private static func entries(_ rootfs: String, _ path: String) -> [[String]] {
        guard let root = try? FileDescriptor.open(rootfs, O_RDONLY | O_DIRECTORY) else { return [] }
        defer { root.close() }
        guard let fd = try? FileDescriptor.openInRoot(root, path, O_RDONLY) else { return [] }
        defer { fd.close() }
        // Split as bytes, as libc reads these files (a Character split is
        // grapheme-aware and kept "\r\n" whole); only the fields become strings.
        let bytes = (try? fd.readAll()) ?? []
        return bytes.split(separator: UInt8(ascii: "\n")).map { line in
            line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
        }.filter { $0.count >= 3 }
    }

    /// The environment with `HOME` from the user's passwd entry (`/root`
    /// for root) when it has none, as Docker sets it at start.
    public static func withHome(_ env: [String], _ user: ResolvedUser) -> [String] {
        env.contains { $0.hasPrefix("HOME=") } ? env : env + ["HOME=" + (user.home.isEmpty ? "/" : user.home)]
    }
}

/// One member of a tar archive: its header, after GNU long names and PAX
/// records have been applied. The content is read from `TarReader`.
public struct TarEntry: Sendable, Equatable {
    /// What kind of file the entry creates.
    public enum Kind: Sendable, Equatable {
        /// A regular file (typeflag `0`, NUL, or `7` contiguous).
        case regular
        /// A hard link to `linkTarget`, an earlier path in the archive (`1`).
        case hardLink
        /// A symbolic link whose target is `linkTarget` (`2`).
        case symbolicLink
        /// A character device (`3`).
        case characterDevice
        /// A block device (`4`).
        case blockDevice
        /// A directory (`5`).
        case directory
        /// A named pipe (`6`).
        case fifo
    }

    /// The path as stored in the archive (not cleaned; may be absolute or
    /// contain `..`: the extractor decides what is safe).
    public var path: String
    /// The entry's kind.
    public var kind: Kind
    /// Symlink target or hard-link target path; empty otherwise.
    public var linkTarget: String = ""
    /// Content length in bytes (regular files only; 0 for others).
    public var size: Int64 = 0
    /// Permission bits including setuid, setgid and sticky (mode & 0o7777).
    public var mode: UInt32 = 0o644
    /// Numeric owner.
    public var uid: UInt32 = 0
    /// Numeric group.
    public var gid: UInt32 = 0
    /// Owner name, informational only (Berth always uses the numeric ids).
    public var userName: String = ""
    /// Group name, informational only.
    public var groupName: String = ""
    /// Modification time, seconds since the epoch.
    public var mtimeSeconds: Int64 = 0
    /// Sub-second part of the modification time (from PAX `mtime`).
    public var mtimeNanoseconds: Int32 = 0
    /// Device numbers for character and block devices.
    public var deviceMajor: UInt32 = 0
    /// Device numbers for character and block devices.
    public var deviceMinor: UInt32 = 0
    /// Extended attributes from PAX `SCHILY.xattr.<name>` records, raw bytes.
    public var xattrs: [String: [UInt8]] = [:]

    /// An entry with the given path and kind and default metadata.
    public init(path: String, kind: Kind, size: Int64 = 0, mode: UInt32? = nil, linkTarget: String = "") {
        self.path = path
        self.kind = kind
        self.size = size
        self.mode = mode ?? (kind == .directory ? 0o755 : 0o644)
        self.linkTarget = linkTarget
    }
}

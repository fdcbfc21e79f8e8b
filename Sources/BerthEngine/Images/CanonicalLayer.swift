import BerthCore

/// A layer's canonical tar: what `TreeArchiver(whiteouts: .aufs)` writes from
/// the unpacked directory (names sorted, numeric owners, no user or group
/// names, overlay whiteouts as `.wh.` markers). Berth keeps layers only
/// unpacked, so this is the one tar it can write again byte for byte: a
/// layer is stored under the SHA-256 of this tar, and `save` regenerates
/// exactly it. See docs/images.md, "Layer digests".
public enum CanonicalLayer {
    /// The archiver that defines the canonical form.
    public static var archiver: TreeArchiver { TreeArchiver(whiteouts: .aufs) }

    /// Writes the canonical tar of `directory` into `sink`.
    public static func write(_ directory: String, into sink: any ByteSink) throws(BerthError) {
        let writer = TarWriter(sink)
        try archiver.archive(root: directory, into: writer)
        try writer.finish()
    }

    /// The canonical diff ID (`sha256:HEX`) of an unpacked layer directory and
    /// the length of its tar. One read-only walk; nothing is written.
    public static func digest(of directory: String) throws(BerthError) -> (diffID: String, tarSize: Int64) {
        let sink = HashingSink()
        try write(directory, into: sink)
        return (sink.digest, sink.byteCount)
    }
}

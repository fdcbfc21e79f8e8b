import BerthCore

/// Wraps a source and computes the SHA-256 and length of everything read
/// through it. Over a decompressed layer this is the OCI diff ID
/// (`rootfs.diff_ids`), which covers the whole uncompressed stream: call
/// `drainToEnd()` after the tar reader stops so that the end-of-archive zero
/// blocks and any padding after them are hashed too, as Docker does.
public final class HashingSource: ByteSource {
    private let upstream: any ByteSource
    private var hash = SHA256()
    /// Bytes read through this source so far.
    public private(set) var byteCount: Int64 = 0

    /// Hashes what is read from `upstream`.
    public init(_ upstream: any ByteSource) { self.upstream = upstream }

    /// Reads and hashes the next bytes.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        let n = try upstream.read(into: buffer)
        if n > 0 {
            hash.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            byteCount += Int64(n)
        }
        return n
    }

    /// Reads (and hashes) the rest of the stream.
    public func drainToEnd() throws(BerthError) {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { chunk.deallocate() }
        while try read(into: chunk) > 0 {}
    }

    /// `sha256:<hex>` of everything read so far.
    public var digest: String { "sha256:" + hash.hexDigest }
}

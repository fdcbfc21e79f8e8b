import BerthCore

/// A sink that computes the SHA-256 and length of everything written to it
/// and passes the bytes on to `downstream`, or discards them when there is
/// none. Over a `TreeArchiver` walk of a layer directory this gives the
/// layer's canonical diff ID without writing the tar anywhere; over `save`'s
/// layer file it checks the tar while it is written.
public final class HashingSink: ByteSink {
    private let downstream: (any ByteSink)?
    private var hash = SHA256()
    /// Bytes written so far.
    public private(set) var byteCount: Int64 = 0

    /// Hashes and forwards to `downstream`; with nil, hashes and discards.
    public init(_ downstream: (any ByteSink)? = nil) { self.downstream = downstream }

    /// Hashes (and forwards) `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        hash.update(bytes)
        byteCount += Int64(bytes.count)
        try downstream?.write(bytes)
    }

    /// `sha256:<hex>` of everything written so far.
    public var digest: String { "sha256:" + hash.hexDigest }
}

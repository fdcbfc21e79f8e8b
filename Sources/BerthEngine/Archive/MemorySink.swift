import BerthCore

/// A sink collecting everything written into memory: small outputs, tests.
public final class MemorySink: ByteSink {
    /// Everything written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty sink.
    public init() {}

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        self.bytes.append(contentsOf: bytes)
    }
}

import BerthCore
import CZlib

/// A sink that gzips what is written and passes it on to another sink,
/// streaming. Call `finish()` once at the end to write the gzip trailer.
public final class GzipCompressor: ByteSink {
    private let downstream: any ByteSink
    private let name: String
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private var finished = false

    /// Compresses into `downstream` at zlib `level` (1 fast … 9 small).
    public init(_ downstream: any ByteSink, name: String, level: Int32 = 6) throws(BerthError) {
        self.downstream = downstream
        self.name = name
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(byteCount: 128 * 1024, alignment: 16)
        // windowBits 15+16 asks zlib for a gzip header and trailer instead of
        // the zlib wrapper; memLevel 8 is zlib's default.
        let status = deflateInit2_(
            stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            output.deallocate()
            throw BerthError("write \(name): deflateInit2 failed (zlib status \(status)); check the compression level")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        guard !finished else { throw BerthError("write \(name): the gzip stream is already finished") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // zlib's next_in is not const unless ZLIB_CONST is defined; it does not write to it.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(bytes.count)
        try pump(Z_NO_FLUSH)
    }

    /// Flushes the last block and the gzip trailer; the sink stays open.
    public func finish() throws(BerthError) {
        guard !finished else { return }
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try pump(Z_FINISH)
        finished = true
    }

    private func pump(_ flush: Int32) throws(BerthError) {
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(output.count)
            let status = deflate(stream, flush)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw BerthError("write \(name): deflate failed (zlib status \(status))")
            }
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 { try downstream.write(UnsafeRawBufferPointer(rebasing: output[..<produced])) }
            if flush == Z_FINISH {
                if status == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 {
                return
            }
        }
    }

    /// Gzips bytes in memory (tests, small blobs).
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws(BerthError) -> [UInt8] {
        let sink = MemorySink()
        let gzip = try GzipCompressor(sink, name: "memory", level: level)
        try gzip.write(bytes)
        try gzip.finish()
        return sink.bytes
    }
}

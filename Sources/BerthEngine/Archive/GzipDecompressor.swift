import BerthCore
import CZlib

/// A source that gunzips another source, streaming.
///
/// Handles concatenated gzip members (`cat a.gz b.gz`, pigz, some registries)
/// and tolerates zero padding after the last member (tape-blocked files), but
/// reports a stream that stops before a member's end as truncated and any
/// other damage with zlib's own message.
public final class GzipDecompressor: ByteSource {
    private let upstream: any ByteSource
    private let name: String
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var upstreamEnded = false
    private var memberEnded = false
    private var finished = false

    /// Decompresses `upstream`; `name` is what error messages call the file.
    public init(_ upstream: any ByteSource, name: String) throws(BerthError) {
        self.upstream = upstream
        self.name = name
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(byteCount: 128 * 1024, alignment: 16)
        // windowBits 15+32: zlib detects the gzip header itself (and would
        // also take a zlib header); 15 is the largest window gzip writes.
        let status = inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            input.deallocate()
            throw BerthError("read archive \(name): inflateInit2 failed (zlib status \(status)); the system zlib is broken")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    /// Reads decompressed bytes; 0 at the end of the last member.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        guard buffer.count > 0, !finished else { return 0 }
        while true {
            if stream.pointee.avail_in == 0 && !upstreamEnded {
                let n = try upstream.read(into: input)
                if n == 0 {
                    upstreamEnded = true
                } else {
                    stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_in = UInt32(n)
                }
            }
            if memberEnded {
                if stream.pointee.avail_in == 0 {
                    if upstreamEnded { finished = true; return 0 }
                    continue
                }
                try startNextMember()
                continue
            }
            stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(clamping: buffer.count)
            let before = stream.pointee.avail_out
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = Int(before - stream.pointee.avail_out)
            switch status {
            case Z_STREAM_END:
                memberEnded = true
                if produced > 0 { return produced }
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { return produced }
                if stream.pointee.avail_in == 0 && upstreamEnded {
                    throw BerthError("read archive \(name): unexpected end of gzip data; the file is incomplete, copy it again")
                }
            default:
                throw BerthError(
                    "read archive \(name): corrupt gzip data (\(message(status))); the file is damaged, copy it again")
            }
        }
    }

    /// After one member ended and more input follows: another member, or
    /// zero padding to skip, or garbage to refuse.
    private func startNextMember() throws(BerthError) {
        let next = stream.pointee.next_in!
        if next[0] == 0x1f {
            inflateReset(stream)
            memberEnded = false
            return
        }
        for i in 0..<Int(stream.pointee.avail_in) where next[i] != 0 {
            throw BerthError("read archive \(name): trailing garbage after the gzip data; the file is damaged, copy it again")
        }
        stream.pointee.avail_in = 0
    }

    private func message(_ status: Int32) -> String {
        if let msg = stream.pointee.msg { return "inflate: " + String(cString: msg) }
        return "inflate status \(status)"
    }
}

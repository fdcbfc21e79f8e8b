import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif

@Suite("Errno in messages")
struct ErrnoTests {
    @Test("a known errno reads as its name and the C library's text; an unknown one as its number")
    func description() {
        #expect(Errno(ENOENT).description == "ENOENT (No such file or directory)")
        #expect(Errno(EXDEV).description == "EXDEV (Invalid cross-device link)")
        #expect(Errno(ENFILE).description.hasPrefix("ENFILE ("))
        #expect(Errno(ENOTCONN).description == "errno \(ENOTCONN) (Transport endpoint is not connected)")
    }
}

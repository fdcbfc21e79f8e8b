#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth version`.
struct VersionCommand: Command {
    let spec = CommandSpec("version", summary: "Show the Berth version information", max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var info = utsname()
        uname(&info)
        let kernel = withUnsafeBytes(of: info.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        ctx.print("Berth version \(berthVersion)")
        ctx.print("OS/Arch:       linux/\(ImageConfig.hostArchitecture)")
        ctx.print("Kernel:        \(kernel)")
        return 0
    }
}

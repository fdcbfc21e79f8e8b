#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth version [--format T]`.
struct VersionCommand: Command {
    static let format = Flag.string(
        "format", short: "f",
        help: "Format output using a Go template ({{.Client.Version}} {{.Server.Os}}), or json for one JSON line")

    let spec = CommandSpec("version", summary: "Show the Berth version information", flags: [Self.format], max: 0)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        var info = utsname()
        uname(&info)
        let kernel = withUnsafeBytes(of: info.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if let format = args[Self.format] {
            // Docker's shape: a Client and a Server part. Berth has no daemon,
            // so, as Podman on a local engine, both describe this binary.
            let part = JSON.object([
                ("Version", .string(berthVersion)), ("Os", .string("linux")),
                ("Arch", .string(ImageConfig.hostArchitecture)), ("KernelVersion", .string(kernel)),
            ])
            try ctx.printDocument(.object([("Client", part), ("Server", part)]), format: format)
            return 0
        }
        ctx.print("Berth version \(berthVersion)")
        ctx.print("OS/Arch:       linux/\(ImageConfig.hostArchitecture)")
        ctx.print("Kernel:        \(kernel)")
        return 0
    }
}

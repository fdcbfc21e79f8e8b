#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth network create [--subnet CIDR] NAME`.
struct NetworkCreateCommand: Command {
    static let subnet = Flag.string("subnet", help: "Subnet in CIDR format (default: the next free one of the pool)")
    static let label = Flag.strings("label", value: "list", help: "Set metadata on a network")
    static let driver = Flag.string("driver", short: "d", help: "Driver to manage the Network (only bridge)", default: "bridge")

    let spec = CommandSpec(
        "network create", summary: "Create a network",
        flags: [Self.subnet, Self.driver, Self.label],
        arguments: [ArgSpec("NETWORK")], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if let driver = args[Self.driver], driver != "bridge" {
            throw BerthError("network driver \(driver) is not supported; Berth has only the bridge driver")
        }
        let labels = args[Self.label].map { text -> (String, String) in
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        let layout = try ctx.openStore()
        if Rootless.isActive {
            throw Rootless.refusal("network create", "a bridge network needs the host's root; containers use slirp4netns")
        }
        let record = try NetworkStore(layout: layout).create(args.positionals[0], subnet: args[Self.subnet], labels: labels)
        ctx.print(record.id)
        return 0
    }
}

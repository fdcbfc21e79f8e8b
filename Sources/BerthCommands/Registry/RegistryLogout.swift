#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthEngine

/// `berth logout [SERVER]`.
struct LogoutCommand: Command {
    let spec = CommandSpec(
        "logout", summary: "Log out from a registry",
        arguments: [ArgSpec("SERVER", optional: true)], min: 0, max: 1,
        details: "Removes the login for SERVER (default docker.io) from ROOT/auth.json.")

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let server = AuthStore.key(args.positionals.first ?? "docker.io")
        let auths = AuthStore(layout: try ctx.openStore())
        if try auths.set(nil, for: server) {
            ctx.print("Removing login credentials for \(server)")
        } else {
            ctx.print("Not logged in to \(server)")
        }
        return 0
    }
}

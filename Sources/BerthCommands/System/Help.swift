#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth help [COMMAND]`.
struct HelpCommand: Command {
    let spec = CommandSpec(
        "help", summary: "Show the command list, or the help of one command",
        arguments: [ArgSpec("COMMAND", completion: .commands, repeats: true, optional: true)])

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if args.positionals.isEmpty {
            ctx.printRaw(Help.overview(ctx.registry.commands))
            return 0
        }
        guard let (command, used) = ctx.registry.command(for: args.positionals), used == args.positionals.count else {
            throw BerthError("help: unknown command \"\(args.positionals.joined(separator: " "))\"; run 'help' for the list")
        }
        ctx.printRaw(Help.render(command.spec))
        return 0
    }
}

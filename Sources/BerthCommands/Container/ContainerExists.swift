import BerthEngine

/// `berth container exists NAME` (Podman's): exit 0 if the container
/// exists, 1 if not, nothing printed; for scripts (`if container exists web`).
struct ContainerExistsCommand: Command {
    let spec = CommandSpec(
        "container exists", summary: "Check if a container exists (exit 0 if it does, 1 if not)",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil))], min: 1, max: 1)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let containers = try ctx.lifecycle().containers
        do {
            _ = try containers.find(args.positionals[0])
            return 0
        } catch  where error.kind == .notFound {
            return 1
        }
    }
}

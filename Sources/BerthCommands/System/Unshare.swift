#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

/// `berth unshare [COMMAND [ARG...]]`, Podman's `podman unshare`: runs a
/// program in the rootless user and mount namespace, as its uid 0, so a
/// user can look at, change or delete files the container's other users
/// own (they belong to subordinate ids on the host), and see the
/// containers' overlay mounts. Without a command, `$SHELL` (else /bin/sh).
struct UnshareCommand: Command {
    let spec = CommandSpec(
        "unshare", summary: "Run a command in berth's rootless user and mount namespace",
        arguments: [ArgSpec("COMMAND", optional: true), ArgSpec("ARG", repeats: true, optional: true)],
        interspersed: false)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        if let failure = Rootless.failure { throw .unavailable(failure) }
        guard Rootless.isActive else {
            throw .invalidState(
                "unshare is for rootless berth: root already uses the host's namespaces; run it as a non-root user")
        }
        let shell = ctx.environment["SHELL"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/bin/sh"
        let command = args.positionals.isEmpty ? [shell] : args.positionals
        var env = ctx.environment
        env.merge(Rootless.childEnvironment) { _, rootless in rootless }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(ctx.stdin.rawValue, Int32(0)), (ctx.stdout.rawValue, 1), (ctx.stderr.rawValue, 2)]
        where fd != target {
            posix_spawn_file_actions_adddup2(&actions, fd, target)
        }
        let argv = command.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, command[0], &actions, nil, argv, envp)
        guard rc == 0 else {
            throw BerthError(
                "unshare: cannot run \(command[0]): \(Errno(rc)); give a program on PATH or its full path",
                exitCode: rc == ENOENT ? 127 : 126)
        }
        let status = waitForChild(pid) ?? 0
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

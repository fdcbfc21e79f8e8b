/// Renders `--help` and `help CMD` text from a command's own declaration.
public enum Help {
    /// The help page of one command.
    public static func render(_ spec: CommandSpec) -> String {
        var out = "\nUsage:  \(spec.usageLine)\n\n\(spec.summary)\n"
        if !spec.aliases.isEmpty {
            out += "\nAliases:\n  \(([spec.name] + spec.aliases).joined(separator: ", "))\n"
        }
        if !spec.details.isEmpty { out += "\n\(spec.details)\n" }
        if !spec.flags.isEmpty {
            out += "\nOptions:\n"
            let rows = spec.flags.map { flag -> (String, String) in
                let short = flag.short.map { "-\($0), " } ?? "    "
                let value = flag.valueName.map { " \($0)" } ?? ""
                var help = flag.help
                if let def = flag.defaultValue { help += " (default \(def))" }
                return ("  \(short)--\(flag.long)\(value)", help)
            }
            let width = rows.map(\.0.count).max() ?? 0
            for (left, right) in rows {
                out += left + String(repeating: " ", count: width - left.count + 3) + right + "\n"
            }
        }
        return out
    }

    /// The command list shown by `berth --help` and `help`.
    public static func overview(_ commands: [any Command]) -> String {
        var out = """

            Usage:  berth [--root DIR] [COMMAND [ARGS...] | FILE]

            A daemonless container engine with a scripting shell.
            With no arguments and a terminal, berth opens its REPL; with a FILE
            or a pipe on stdin it runs a script; otherwise it runs one command.

            Global options:
              --root DIR   store directory (default $BERTH_ROOT or /var/lib/berth;
                           rootless: $XDG_DATA_HOME/berth or ~/.local/share/berth)

            Commands:

            """
        let specs = commands.map(\.spec).sorted { $0.name < $1.name }
        let width = specs.map(\.name.count).max() ?? 0
        for spec in specs {
            out += "  \(spec.name)" + String(repeating: " ", count: width - spec.name.count + 3) + spec.summary + "\n"
        }
        out += "\nRun 'berth COMMAND --help' (or 'help COMMAND' in the REPL) for more on a command.\n"
        return out
    }
}

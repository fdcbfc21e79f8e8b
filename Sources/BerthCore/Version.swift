/// The version printed by `berth version`, `berth --version` and the REPL banner.
public let berthVersion = "0.1.0"

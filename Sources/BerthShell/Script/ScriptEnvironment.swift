import BerthCore

/// A variable's value: a string, or a list of strings.
enum ScriptValue: Sendable, Equatable {
    case string(String)
    case list([String])

    /// As one string: a list's items joined by spaces.
    var joined: String {
        switch self {
        case .string(let s): return s
        case .list(let items): return items.joined(separator: " ")
        }
    }
}

/// One function call (or the top level): its arguments and local variables.
struct ScriptFrame {
    var name: String
    var arguments: [String]
    var locals: [String: ScriptValue] = [:]
    var loopDepth = 0
    let isFunction: Bool
}

/// What stops the normal flow of statements. `error` is a failure not yet
/// reported; `failed` one already reported that ends the script.
enum ScriptInterrupt: Error {
    case error(BerthError)
    case failed(Int32)
    case exit(Int32)
    case returned(Int32)
    case breakLoop
    case continueLoop
    /// Ctrl-C in the REPL: abandon the statement, the loop and the block.
    case interrupted
}

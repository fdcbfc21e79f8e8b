#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// `test` and `[ … ]`: string and number comparisons and file checks.
///
///     [ STRING ]                  true when not empty
///     [ -z STRING ]  [ -n STRING ]
///     [ -e PATH ]  [ -f PATH ]  [ -d PATH ]
///     [ A == B ]  [ A != B ]      strings
///     [ A < B ]  [ A > B ]        numbers when both are, else strings
///     [ A -eq B ] -ne -lt -le -gt -ge   integers
///     [ ! EXPR ]
enum TestExpression {
    static func evaluate(_ words: [String]) throws(BerthError) -> Bool {
        if words.first == "!" && words.count > 1 { return !(try evaluate(Array(words.dropFirst()))) }
        switch words.count {
        case 0: return false
        case 1: return !words[0].isEmpty
        case 2:
            let (op, value) = (words[0], words[1])
            switch op {
            case "-z": return value.isEmpty
            case "-n": return !value.isEmpty
            case "-e", "-f", "-d":
                var st = stat()
                guard stat(value, &st) == 0 else { return false }
                let type = st.st_mode & S_IFMT
                return op == "-e" || (op == "-f" ? type == S_IFREG : type == S_IFDIR)
            default: throw syntax(words)
            }
        case 3:
            let (a, op, b) = (words[0], words[1], words[2])
            switch op {
            case "==", "=": return a == b
            case "!=": return a != b
            case "<", ">":
                if let x = Int(a), let y = Int(b) { return op == "<" ? x < y : x > y }
                return op == "<" ? a < b : a > b
            case "-eq", "-ne", "-lt", "-le", "-gt", "-ge":
                guard let x = Int(a), let y = Int(b) else {
                    throw BerthError("\(op) compares integers, not \"\(a)\" and \"\(b)\"", exitCode: 2)
                }
                switch op {
                case "-eq": return x == y
                case "-ne": return x != y
                case "-lt": return x < y
                case "-le": return x <= y
                case "-gt": return x > y
                default: return x >= y
                }
            default: throw syntax(words)
            }
        default: throw syntax(words)
        }
    }

    private static func syntax(_ words: [String]) -> BerthError {
        BerthError(
            "test: cannot read \"\(words.joined(separator: " "))\"; write A == B, A -lt B, -z A, … "
                + "and join tests with && or ||", exitCode: 2)
    }
}

import BerthCore

/// Runs a script — a file, or stdin when it is not a terminal — one command
/// per line through the same `execute` as the REPL. Blank lines and `#`
/// comments are skipped; a line ending in `\` continues on the next. The
/// first failing command stops the script with `FILE:LINE: error: …` on
/// stderr (stdin is named `-`) and its exit code.
public struct ScriptRunner {
    let registry: Registry
    let execute: ExecuteCommand
    let errorOutput: (String) -> Void

    /// - Parameter errorOutput: receives each error line, newline included
    ///   (default: stderr).
    public init(registry: Registry, execute: @escaping ExecuteCommand,
                errorOutput: ((String) -> Void)? = nil) {
        self.registry = registry
        self.execute = execute
        self.errorOutput = errorOutput ?? { writeOut($0, to: 2) }
    }

    /// Runs the script in a file.
    public func run(file path: String) -> Int32 {
        let text: String
        do {
            text = try FileSystem.readText(path)
        } catch {
            errorOutput("Error: \(error)\n")
            return error.exitCode
        }
        return run(source: text, name: path)
    }

    /// Runs standard input as a script named `-`.
    public func runStandardInput() -> Int32 {
        let bytes = (try? FileDescriptor(rawValue: 0).readAll()) ?? []
        return run(source: String(decoding: bytes, as: UTF8.self), name: "-")
    }

    /// Runs script text; `name` prefixes error lines.
    public func run(source: String, name: String) -> Int32 {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        var status: Int32 = 0
        while index < lines.count {
            let lineNumber = index + 1
            var text = lines[index]
            index += 1
            while Self.continues(text) && index < lines.count {
                text += "\n" + lines[index]   // the tokenizer drops backslash-newline
                index += 1
            }
            do throws(BerthError) {
                let words = try Tokenizer.split(text, firstLine: lineNumber)
                guard let first = words.first else { continue }
                let rest = Array(words.dropFirst())
                if ShellBuiltins.handles(first, registry) {
                    if first == "help" {
                        writeOut(try ShellBuiltins.help(rest, registry, interactive: false))
                        status = 0
                        continue
                    }
                    return try ShellBuiltins.exitStatus(rest, default: status)
                }
                status = try execute(words)
                if status != 0 {
                    errorOutput("\(name):\(lineNumber): error: \"\(words.joined(separator: " "))\" exited with status \(status)\n")
                    return status
                }
            } catch {
                errorOutput("\(name):\(lineNumber): error: \(error)\n")
                return error.exitCode
            }
        }
        return status
    }

    /// Whether a line ends in an odd number of backslashes.
    static func continues(_ line: String) -> Bool {
        var count = 0
        for ch in line.reversed() {
            guard ch == "\\" else { break }
            count += 1
        }
        return count % 2 == 1
    }
}

import Testing
@testable import BerthShell

@Suite("Script parser")
struct ParserTests {
    @Test(
        "every unterminated construct has its own message at the opening's line and column",
        arguments: [
            ("echo \"abc", "unterminated double quote", 1, 6),
            ("echo ok\n  echo 'abc", "unterminated single quote", 2, 8),
            ("if true {\n  echo a\n", "unterminated block (missing })", 1, 9),
            ("x = $(inspect -f '{{.Id}}' web", "unterminated $(", 1, 5),
            ("echo \"$(version\"", "unterminated double quote", 1, 16),  // the innermost open quote
            ("echo \"$(version", "unterminated $(", 1, 7),
            ("echo ${name", "unterminated ${", 1, 6),
            ("echo a \\", "unterminated line continuation (\\ at the end)", 1, 8),
        ])
    func unterminated(text: String, message: String, line: Int, column: Int) throws {
        let error = try #require(syntaxError(text))
        #expect(error.message == message)
        #expect(error.position == SourcePosition(line: line, column: column))
        #expect(error.incomplete)
        #expect(!ScriptParser.isComplete(text))
    }

    @Test(
        "open constructs the REPL waits on",
        arguments: [
            "for x in a b {", "while true", "fn f(a) {\n echo", "echo a &&", "if x { } else", "echo \"$(a\n",
        ])
    func incomplete(text: String) {
        #expect(!ScriptParser.isComplete(text))
    }

    @Test(
        "mistakes that more input cannot fix are errors, not incomplete",
        arguments: [
            ("}", "unexpected } with no block open", 1, 1),
            ("else { }", "else without if (write it on the line of the }: } else {)", 1, 1),
            ("if true { } }", "expected the end of the statement, found \"}\"", 1, 13),
            ("x = a b", "x = takes one value: quote it (\"a b\") or make a list ([a b])", 1, 1),
            ("fn 9x { }", "bad function name \"9x\": letters, digits, _ and -", 1, 1),
            ("echo ${a b}", "bad substitution ${a b}: a name, a number, ?, # or @ goes inside", 1, 6),
            ("for 1 in a { }", "expected a variable name after for, found \"1\"", 1, 5),
        ])
    func errors(text: String, message: String, line: Int, column: Int) throws {
        let error = try #require(syntaxError(text))
        #expect(error.message == message)
        #expect(error.position == SourcePosition(line: line, column: column))
        #expect(!error.incomplete)
        #expect(ScriptParser.isComplete(text))
    }

    @Test(
        "complete statements",
        arguments: [
            "images", "if a { b } else { c }", "for x in [a] { }", "fn f { }\n", "x = \"$(a \"b\" $(c))\"",
            "inspect -f {{.State.Status}} web", "a && \\\n b",
        ])
    func complete(text: String) {
        #expect(ScriptParser.isComplete(text))
        #expect(syntaxError(text) == nil)
    }

    @Test("blocks nested too deep are an error, not a stack overflow")
    func depth() throws {
        let text = String(repeating: "if a {\n", count: 500) + String(repeating: "}\n", count: 500)
        let error = try #require(syntaxError(text))
        #expect(error.message.contains("nested more than"))
        let captures = String(repeating: "$(", count: 500)
        #expect(syntaxError("echo " + captures)?.message.contains("nested more than") == true)
    }
}

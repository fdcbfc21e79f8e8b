import Testing
import BerthCore
@testable import BerthEngine

/// The Dockerfile parser, variable expansion and `.dockerignore` rules, as
/// pure logic (the builder's integration tests run them for real).
@Suite("Dockerfile parser")
struct DockerfileTests {
    private func parse(_ text: String) throws -> Dockerfile { try Dockerfile.parse(text) }

    @Test("continuations join lines as written; comments and blank lines inside are dropped")
    func continuations() throws {
        let file = try parse(
            """
            FROM busybox
            LABEL a="one\\
              two \\
            # comment

               \\
              three"
            RUN echo hello\\
              world > /t1 && \\
                echo "x\\\\" >> /t1
              LABEL  d="q u o t e d"
            """)
        #expect(file.instructions.map(\.keyword) == ["FROM", "LABEL", "RUN", "LABEL"])
        #expect(file.instructions[1].text == "a=\"one  two      three\"")
        #expect(file.instructions[2].text == "echo hello  world > /t1 &&     echo \"x\\\\\" >> /t1")
        #expect(file.instructions[3].original == "LABEL  d=\"q u o t e d\"")
        #expect(file.instructions[3].line == 11)
        #expect(file.warnings.count == 1 && file.warnings[0].contains("Empty continuation line"))
    }

    @Test("an escaped escape at the end of a line is a literal, not a continuation")
    func escapedEscape() throws {
        let file = try parse("FROM busybox\nRUN echo x\\\\\nRUN echo y\n")
        #expect(file.instructions.count == 3)
        #expect(file.instructions[1].text == "echo x\\\\")
    }

    @Test("# escape=` at the top changes the escape character; after another line it is a comment")
    func escapeDirective() throws {
        let file = try parse("# escape=`\n\nFROM busybox\nLABEL a=C:\\dir c=\"one`\n  two\"\n")
        #expect(file.escape == "`")
        #expect(file.instructions[1].text == "a=C:\\dir c=\"one  two\"")
        let late = try parse("# hello\n# escape=`\nFROM busybox\nLABEL b=end`\n")
        #expect(late.escape == "\\")
        #expect(late.instructions.count == 2 && late.instructions[1].text == "b=end`")
        #expect(throws: BerthError.self) { try parse("# escape=x\nFROM busybox\n") }
        #expect(throws: BerthError.self) { try parse("# escape=`\n# escape=\\\nFROM busybox\n") }
        let syntax = try parse("# syntax=docker/dockerfile:1\nFROM busybox\n")
        #expect(syntax.syntax == "docker/dockerfile:1")
    }

    @Test("heredocs are refused with one line; << inside a word is not a heredoc")
    func heredocs() throws {
        #expect(throws: BerthError.self) { try parse("FROM busybox\nRUN <<EOF\necho hi\nEOF\n") }
        #expect(throws: BerthError.self) { try parse("FROM busybox\nCOPY <<-\"END\" /f\nx\nEND\n") }
        #expect(throws: BerthError.self) { try parse("FROM busybox\nRUN cat 3<<EOF\nx\nEOF\n") }
        let fine = try parse("FROM busybox\nRUN echo a<<b; echo $((1<<2))\nLABEL x=<<EOF\n")
        #expect(fine.instructions.count == 3)
    }

    @Test("unknown instructions, empty files and keywords in any case")
    func keywords() throws {
        #expect(throws: BerthError.self) { try parse("FROM busybox\nFROB x\n") }
        #expect(throws: BerthError.self) { try parse("# only a comment\n\n") }
        let file = try parse("from busybox\n  run  echo hi  \n")
        #expect(file.instructions[1].keyword == "RUN" && file.instructions[1].text == "echo hi")
    }

    @Test("flags are split off; -- ends them; checkFlags refuses unknown and repeated ones")
    func flags() throws {
        let ins = try Instruction.parse("COPY --chown=1:2 --from=build a b", line: 1)
        #expect(ins.flag("chown") == "1:2" && ins.flag("from") == "build")
        #expect(ins.words() == ["a", "b"])
        try ins.checkFlags(["chown", "from"])
        #expect(throws: BerthError.self) { try ins.checkFlags(["chown"]) }
        let dup = try Instruction.parse("COPY --from=a --from=b x y", line: 1)
        #expect(throws: BerthError.self) { try dup.checkFlags(["from"]) }
        let ended = try Instruction.parse("RUN -- --not-a-flag", line: 1)
        #expect(ended.flags.isEmpty && ended.text == "--not-a-flag")
    }

    @Test("exec form only for a JSON array of strings; anything else is shell form")
    func execForm() throws {
        #expect(try Instruction.parse("RUN [\"sh\", \"-c\", \"echo $X\"]", line: 1).execForm() == ["sh", "-c", "echo $X"])
        #expect(try Instruction.parse("RUN ['echo', 'single'] || true", line: 1).execForm() == nil)
        #expect(try Instruction.parse("CMD echo [x]", line: 1).execForm() == nil)
        #expect(throws: BerthError.self) { try Instruction.parse("CMD [\"a\", 1]", line: 1).execForm() }
        #expect(try Instruction.parse("VOLUME /a [\"/b\"]", line: 1).words() == ["/a", "[\"/b\"]"])
        #expect(try Instruction.parse("COPY [\"with space.txt\", \"/d6/\"]", line: 1).words() == ["with space.txt", "/d6/"])
    }

    @Test("ENV and LABEL pairs keep quotes for the expander; the legacy form is one variable")
    func pairs() throws {
        let env = try Instruction.parse("ENV a=\"x y\" b=it\\ s c='$HOME'", line: 1).pairs(escape: "\\")
        #expect(env.map(\.0) == ["a", "b", "c"])
        #expect(env.map(\.1) == ["\"x y\"", "it\\ s", "'$HOME'"])
        let legacy = try Instruction.parse("ENV legacy  two  words", line: 1).pairs(escape: "\\")
        #expect(legacy.count == 1 && legacy[0] == ("legacy", "two  words"))
        #expect(throws: BerthError.self) { try Instruction.parse("ENV =x", line: 1).pairs(escape: "\\") }
        #expect(throws: BerthError.self) { try Instruction.parse("ENV lonely", line: 1).pairs(escape: "\\") }
    }

    @Test("variable expansion follows Docker's rules for quotes, escapes and modifiers")
    func expansion() throws {
        let w = ShellWords(variables: ["abc": "bye", "E": "", "P": "80 443/udp"])
        let cases: [(String, String)] = [
            ("${abc:+set}", "set"), ("${E:-dflt}", "dflt"), ("${E-dflt}", ""), ("${NOPE:-none}", "none"),
            ("${NOPE-none}", "none"), ("${abc+alt}", "alt"), ("${NOPE+alt}", ""), ("\\$abc", "$abc"),
            ("'$abc'", "$abc"), ("\"$abc\"", "bye"), ("${abc}_x", "bye_x"), ("$abc_x", ""), ("it\\ s", "it s"),
            ("C:\\dir", "C:dir"), ("C:\\\\dir", "C:\\dir"), ("\"a \\\"q\\\" \\$x \\d\"", "a \"q\" $x \\d"),
            ("$", "$"), ("a$", "a$"), ("${abc:-${NOPE:-deep}}", "bye"), ("${NOPE:-${abc}}", "bye"),
        ]
        for (input, expected) in cases {
            #expect(try w.word(input) == expected, "\(input)")
        }
        #expect(try w.words("$P 8080") == ["80", "443/udp", "8080"])
        #expect(try w.words("\"$P\" x") == ["80 443/udp", "x"])
        #expect(throws: BerthError.self) { try w.word("${NOPE:?needed}") }
        #expect(throws: BerthError.self) { try w.word("'open") }
        #expect(throws: BerthError.self) { try w.word("${abc") }
        let deep = String(repeating: "${X:-", count: 10_000) + "x" + String(repeating: "}", count: 10_000)
        #expect(throws: BerthError.self) { try w.word(deep) }
        #expect(try w.word(String(repeating: "${X:-", count: 60) + "x" + String(repeating: "}", count: 60)) == "x")
        let backtick = ShellWords(escape: "`", variables: [:])
        #expect(try backtick.word("C:\\dir") == "C:\\dir")
        // A doubling ARG chain stops at the bound with an error, not gigabytes.
        let half = String(repeating: "a", count: ShellWords.maxExpansion / 2)
        let doubling = ShellWords(variables: ["A": half])
        #expect(try doubling.word("${A}${A}").utf8.count == ShellWords.maxExpansion)
        #expect(throws: BerthError.self) { try doubling.word("${A}${A}x") }
        #expect(throws: BerthError.self) { try doubling.words("${A} ${A} ${A}") }
    }

    @Test(".dockerignore: anchored patterns, ** across directories, ! exceptions, last match wins")
    func ignore() throws {
        let patterns = try IgnorePatterns(
            parsing: """
                # c
                 # not-comment
                *.md
                !README.md
                /secret
                !secret/pub
                **/*.log
                node_modules/
                ./logs/../logs
                """)
        let paths = [
            "keep.md", "README.md", "docs", "docs/a.md", "docs/b.txt", "secret", "secret/key", "secret/pub",
            "node_modules", "node_modules/x/y.js", "a", "a/b/c/deep.log", "top.log", "logs", "logs/keep.txt",
        ]
        let kept = paths.filter { !patterns.excludes($0) }
        #expect(kept == ["README.md", "docs", "docs/a.md", "docs/b.txt", "secret/pub", "a"])
        #expect(patterns.excludes("secret") && patterns.hasExceptions)
        #expect(throws: BerthError.self) { try IgnorePatterns(parsing: "!\n") }
        #expect(IgnorePatterns.clean("./a/../b") == "b" && IgnorePatterns.clean("foo/") == "foo")
    }

    @Test("globs: * and ? stop at /, classes, escapes")
    func globs() {
        #expect(Glob.match("*.txt", "a.txt") && !Glob.match("*.txt", "d/a.txt"))
        #expect(Glob.match("a?c", "abc") && !Glob.match("a?c", "a/c"))
        #expect(Glob.match("[a-c]x", "bx") && !Glob.match("[^a-c]x", "bx"))
        #expect(Glob.match("**/x", "x") && Glob.match("**/x", "a/b/x") && Glob.match("a/**", "a/b/c"))
        #expect(Glob.match("\\*", "*") && !Glob.match("\\*", "a"))
    }

    @Test("HEALTHCHECK in Docker's shape, durations in nanoseconds")
    func healthcheck() throws {
        let hc = try Healthcheck.parse(
            try Instruction.parse("HEALTHCHECK --interval=5m --timeout=3s --retries=4 CMD wget -q localhost || exit 1", line: 1))
        #expect(
            hc.compact
                == #"{"Test":["CMD-SHELL","wget -q localhost || exit 1"],"Interval":300000000000,"Timeout":3000000000,"Retries":4}"#
        )
        let exec = try Healthcheck.parse(try Instruction.parse("HEALTHCHECK --start-period=1m30s CMD [\"true\"]", line: 1))
        #expect(exec.compact == #"{"Test":["CMD","true"],"StartPeriod":90000000000}"#)
        #expect(try Healthcheck.parse(try Instruction.parse("HEALTHCHECK NONE", line: 1)).compact == #"{"Test":["NONE"]}"#)
        for bad in ["--interval=5 CMD x", "--interval=1us CMD x", "--retries=-1 CMD x", "CMD", "BOGUS x"] {
            #expect(throws: BerthError.self) { try Healthcheck.parse(try Instruction.parse("HEALTHCHECK " + bad, line: 1)) }
        }
    }

    @Test("EXPOSE ports and ranges; Docker's sizes for the context line")
    func portsAndSizes() throws {
        #expect(try Builder.ports("80", line: 1) == ["80/tcp"])
        #expect(try Builder.ports("53/UDP", line: 1) == ["53/udp"])
        #expect(try Builder.ports("8000-8002/tcp", line: 1) == ["8000/tcp", "8001/tcp", "8002/tcp"])
        for bad in ["x", "70000", "90-80", "80/icmp", ""] {
            #expect(throws: BerthError.self) { try Builder.ports(bad, line: 1) }
        }
        #expect(Builder.humanSize(2048) == "2.048kB")
        #expect(Builder.humanSize(512) == "512B")
        #expect(Builder.humanSize(6_144) == "6.144kB")
        #expect(Builder.humanSize(1_234_567) == "1.235MB")
        #expect(Builder.goQuote("a \"b\"\\") == #""a \"b\"\\""#)
    }
}

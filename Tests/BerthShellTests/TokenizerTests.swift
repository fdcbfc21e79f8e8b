import Testing
import BerthCore
@testable import BerthShell

@Suite("Tokenizer")
struct TokenizerTests {
    @Test("whitespace separates words, runs of it count once")
    func whitespace() throws {
        #expect(try Tokenizer.split("  run -it\tbusybox   sh ") == ["run", "-it", "busybox", "sh"])
        #expect(try Tokenizer.split("") == [])
    }

    @Test("single quotes keep everything literal")
    func singleQuotes() throws {
        #expect(try Tokenizer.split(#"echo 'a b' 'c\"d' '$x'"#) == ["echo", "a b", #"c\"d"#, "$x"])
    }

    @Test("double quotes honour \\\", \\\\ and \\$ and keep other backslashes")
    func doubleQuotes() throws {
        #expect(
            try Tokenizer.split(#"echo "say \"hi\"" "a\\b" "\$HOME" "c\d""#)
                == ["echo", #"say "hi""#, #"a\b"#, "$HOME", #"c\d"#])
    }

    @Test("quotes join with neighbouring text and empty quotes make an empty word")
    func adjacentQuotes() throws {
        #expect(try Tokenizer.split(#"--name="my box"x ''"#) == ["--name=my boxx", ""])
    }

    @Test("a backslash escapes the next character outside quotes")
    func backslash() throws {
        #expect(try Tokenizer.split(#"ls my\ dir \'q\' a\\b"#) == ["ls", "my dir", "'q'", #"a\b"#])
    }

    @Test("a backslash before a newline joins the lines")
    func continuation() throws {
        #expect(try Tokenizer.split("run \\\n  busybox") == ["run", "busybox"])
    }

    @Test("# at the start of a word starts a comment, inside a word it is text")
    func comments() throws {
        #expect(try Tokenizer.split("images # list them") == ["images"])
        #expect(try Tokenizer.split("# only a comment") == [])
        #expect(try Tokenizer.split("tag a#b '#c'") == ["tag", "a#b", "#c"])
    }

    @Test("an unterminated double quote names its line and column")
    func unterminatedDouble() {
        #expect(throws: BerthError.usage("unterminated double quote at 1:12")) {
            try Tokenizer.split(#"echo hello "world"#)
        }
    }

    @Test("an unterminated single quote on a later line names that line")
    func unterminatedSingle() {
        #expect(throws: BerthError.usage("unterminated single quote at 7:3")) {
            try Tokenizer.split("a 'b", firstLine: 7)
        }
    }

    @Test("the partial line gives the current word, where it starts, and the open quote")
    func partial() {
        let p = Tokenizer.partial(#"rmi "busy"#)
        #expect(p.words == ["rmi"])
        #expect(p.current == "busy")
        #expect(p.currentStart == 4)
        #expect(p.openQuote == .double)

        let after = Tokenizer.partial("start ")
        #expect(after.words == ["start"])
        #expect(after.current == "")
        #expect(after.currentStart == 6)
        #expect(after.openQuote == nil)

        let escaped = Tokenizer.partial(#"import my\ fi"#)
        #expect(escaped.current == "my fi")
        #expect(escaped.currentStart == 7)
    }

    @Test("start offsets are UTF-8 bytes")
    func utf8Offsets() {
        #expect(Tokenizer.partial("tag café x").currentStart == 10)
    }

    @Test("escaping a word makes it split back to itself")
    func escapeRoundTrip() throws {
        for word in ["my file", #"a"b"#, "it's", "$x", "plain"] {
            #expect(try Tokenizer.split(Tokenizer.escape(word, inside: nil)) == [word])
            #expect(try Tokenizer.split("\"" + Tokenizer.escape(word, inside: .double) + "\"") == [word])
            #expect(try Tokenizer.split("'" + Tokenizer.escape(word, inside: .single) + "'") == [word])
        }
    }
}

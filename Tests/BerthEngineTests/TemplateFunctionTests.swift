import Testing
@testable import BerthEngine

/// Go's builtin functions and Docker's, with the outputs Go and Docker's CLI give.
@Suite("Go templates: functions")
struct TemplateFunctionTests {
    private typealias F = TemplateFixtures

    @Test("and/or return the deciding argument and stop there; not negates truth")
    func logic() throws {
        #expect(
            try F.run(#"{{and 1 0 2}} {{and 1 2}} {{or 0 "" "x"}} {{or 0 ""}}| {{not 0}} {{not "a"}}"#) == "0 2 x | true false")
        #expect(try F.inspect("{{and false .Nope}} {{or true .Nope}}") == "false true")  // .Nope is never evaluated
    }

    @Test("eq (against any of several), ne, lt, le, gt, ge on ints, floats and strings")
    func comparisons() throws {
        #expect(
            try F.run(#"{{eq 1 1}} {{eq "a" "b" "a"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}} {{lt 1.5 2.5}}"#)
                == "true true true true true true false true")
        #expect(
            F.error(#"{{eq 1 "a"}}"#)
                == "Template parsing error: template: :1:2: executing \"\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison"
        )
    }

    @Test("len counts bytes of strings, items of lists and maps; index and slice reach inside")
    func lengthIndexSlice() throws {
        #expect(try F.run(#"{{len "héllo"}} {{len .List}} {{len .Map}}"#) == "6 2 2")
        #expect(try F.run(#"{{index .List 1}} {{index .Map "a"}} {{index .Map "zz"}} {{index "abc" 1}}"#) == "b 1 <no value> 98")
        #expect(try F.run(#"{{slice "abcdef" 1 3}} {{slice .List 1}} {{slice .Nums 1 3}}"#) == "bc [b] [1 2]")
        #expect(
            F.error("{{index .List 5}}")
                == "Template parsing error: template: :1:2: executing \"\" at <index .List 5>: error calling index: index out of range: 5"
        )
    }

    @Test("print puts spaces only between operands that are not strings; println always, and a newline")
    func printing() throws {
        #expect(try F.run(#"{{print 1 2 "a" 3 "b" "c"}}"#) == "1 2a3bc")
        #expect(try F.run(#"{{println "a" 1}}"#) == "a 1\n")
        #expect(try F.run("{{print .List .N}}") == "[a b] 2")
    }

    @Test("printf: Go's verbs, flags, width and precision")
    func printf() throws {
        #expect(
            try F.run(#"{{printf "%d|%5s|%-5s|%05d|%x|%X|%o|%b|%c|%U" 42 "ab" "ab" 42 255 255 8 5 65 65}}"#)
                == "42|   ab|ab   |00042|ff|FF|10|101|A|U+0041")
        #expect(
            try F.run(
                #"{{printf "%q|%v|%t|%.2f|%e|%g|%v|%6.1f|%+d|%%" "hi\n" .List true 3.14159 1234.5678 0.000012 2.5 3.14159 5}}"#)
                == "\"hi\\n\"|[a b]|true|3.14|1.234568e+03|1.2e-05|2.5|   3.1|+5|%")
        #expect(
            try F.run(#"{{printf "%v %s" .Map .List}} {{printf "%.3s" "abcdef"}} {{printf "%x" "hi"}} {{printf "%q" .List}}"#)
                == "map[a:1 b:2] [a b] abc 6869 [\"a\" \"b\"]")
        let plus = try F.run(#"{{printf "%+v" .}}"#)
        #expect(plus.hasPrefix("{Names:web Image:busybox:latest N:2 T:true"), "\(plus)")
    }

    @Test("printf marks what does not fit as Go does: %!d(string=x), MISSING, EXTRA, nil")
    func printfMistakes() throws {
        #expect(
            try F.run(#"{{printf "%d" "x"}}|{{printf "%s %s" "a"}}|{{printf "%s" "a" 1}}|{{printf "%v %d" nil nil}}"#)
                == "%!d(string=x)|a %!s(MISSING)|a%!(EXTRA int=1)|<nil> %!d(<nil>)")
    }

    @Test("json: compact, Docker's struct order, Go maps sorted, no HTML escaping, no trailing newline")
    func json() throws {
        #expect(
            try F.run(#"{{json .Names}} {{json .List}} {{json .N}} {{json "<a&b>"}} {{json .Map}}"#)
                == #""web" ["a","b"] 2 "<a&b>" {"a":1,"b":2}"#)
        #expect(try F.inspect("{{json .State}}") == #"{"Status":"exited","ExitCode":137,"Running":false}"#)
        #expect(try F.inspect("{{json .Config.Labels}}") == #"{"a":"1","b":"2"}"#)
        let row = TemplateObject.context("*formatter.ContainerContext", .object([("Names", .string("w")), ("ID", .string("1"))]))
        #expect(try F.run("{{json .}}", row) == #"{"ID":"1","Names":"w"}"#)
    }

    @Test("split, join, lower, upper, title, truncate, pad as Docker's CLI defines them")
    func dockerStrings() throws {
        #expect(try F.run(#"{{split "a:b:c" ":"}} {{split "ab" ""}} {{len (split "a::" ":")}}"#) == "[a b c] [a b] 3")
        #expect(try F.run(#"{{join .List ", "}} {{join (split .Image ":") "@"}}"#) == "a, b busybox@latest")
        #expect(
            try F.run(#"{{lower "MiXeD"}} {{upper "MiXeD"}} {{title "hello wOrld-foo_bar été"}}"#)
                == "mixed MIXED Hello WOrld-Foo_bar Été")
        #expect(
            try F.run(#"{{truncate "abcdef" 3}} {{truncate "ab" 3}} {{truncate .Names 0}}|{{pad "x" 2 1}}|"#) == "abc ab |  x |")
    }

    @Test("html and urlquery escape as Go's do")
    func escaping() throws {
        #expect(try F.run(#"{{html "<a href='x'>&\"" }}"#) == "&lt;a href=&#39;x&#39;&gt;&amp;&#34;")
        #expect(try F.run(#"{{urlquery "a b&c/é"}}"#) == "a+b%26c%2F%C3%A9")
    }
}

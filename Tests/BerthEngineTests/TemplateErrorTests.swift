import Testing
@testable import BerthEngine

/// Template mistakes give Go's messages behind Docker's `Template parsing
/// error: ` prefix, as one line, with exit code 1.
@Suite("Go templates: errors")
struct TemplateErrorTests {
    private typealias F = TemplateFixtures

    @Test("an unknown field of a typed row is Go's can't-evaluate error, with line and column")
    func unknownField() {
        #expect(
            F.error("{{.Foo}}")
                == "Template parsing error: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext"
        )
        #expect(
            F.error("x\n  {{ .Names.Foo }}")
                == "Template parsing error: template: :2:5: executing \"\" at <.Names.Foo>: can't evaluate field Foo in type string"
        )
    }

    @Test("an unknown key of an inspect record is Go's map-has-no-entry error")
    func unknownKey() {
        #expect(
            F.error("{{.Foo}}", TemplateValue(F.inspect))
                == "Template parsing error: template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\"")
        #expect(
            F.error("{{.State.Nope}}", TemplateValue(F.inspect))
                == "Template parsing error: template: :1:2: executing \"\" at <.State.Nope>: map has no entry for key \"Nope\"")
        // Labels is a Go map in Docker's types: a missing label is <no value>, not an error.
        #expect(F.error("{{.Config.Labels.nope}} {{.NetworkSettings.Networks.nope}}", TemplateValue(F.inspect)) == nil)
        #expect(
            F.error("{{.Config.Entrypoint.X}}", TemplateValue(F.inspect))
                == "Template parsing error: template: :1:2: executing \"\" at <.Config.Entrypoint.X>: nil pointer evaluating interface {}.X"
        )
    }

    @Test("parse errors: undefined functions and variables, unclosed actions and blocks, stray ends")
    func parseErrors() {
        #expect(F.error("{{foo .X}}") == "Template parsing error: template: :1: function \"foo\" not defined")
        #expect(F.error("{{$x}}") == "Template parsing error: template: :1: undefined variable \"$x\"")
        #expect(F.error("{{if .T}}x") == "Template parsing error: template: :1: unexpected EOF")
        #expect(F.error("{{end}}") == "Template parsing error: template: :1: unexpected {{end}}")
        #expect(F.error("a\n{{.X") == "Template parsing error: template: :2: unclosed action")
        #expect(F.error("{{\"abc}}") == "Template parsing error: template: :1: unterminated quoted string")
        #expect(F.error("{{break}}") == "Template parsing error: template: :1: {{break}} outside {{range}}")
        #expect(F.error("{{nil}}") == "Template parsing error: template: :1: nil is not a command")
        #expect(F.error("{{/* open") == "Template parsing error: template: :1: unclosed comment")
    }

    @Test("wrong argument counts and types name the function or the argument")
    func arguments() {
        #expect(
            F.error(#"{{upper "a" "b"}}"#)
                == "Template parsing error: template: :1:2: executing \"\" at <upper>: wrong number of args for upper: want 1 got 2"
        )
        #expect(
            F.error("{{upper 1}}")
                == "Template parsing error: template: :1:8: executing \"\" at <1>: wrong type for value; expected string; got int"
        )
        #expect(
            F.error("{{.Names 1}}")
                == "Template parsing error: template: :1:2: executing \"\" at <.Names>: Names has arguments but cannot be invoked as function"
        )
        #expect(
            F.error("{{range .N}}{{end}}", .map([("N", .string("x"))], strict: false))
                == "Template parsing error: template: :1:8: executing \"\" at <.N>: range can't iterate over x")
    }

    @Test("every template error exits 1, as Docker's CLI")
    func exitCode() {
        let parse = #expect(throws: BerthError.self) { try Template("{{foo}}") }
        #expect(parse?.exitCode(engine: ExitCode.general) == 1 && parse?.kind == .invalidArgument)
        let run = #expect(throws: BerthError.self) { try Template("{{.Foo}}").render(F.context) }
        #expect(run?.exitCode(engine: ExitCode.general) == 1 && run?.kind == .invalidArgument)
    }
}

/// Hostile formats end with one error (or Go's marker), never a crash or a hang.
@Suite("Go templates: hostile formats")
struct TemplateLimitTests {
    private typealias F = TemplateFixtures

    @Test("a range over a huge count stops at the output limit with one error")
    func hugeRange() {
        let message = F.error("{{range 1000000000000}}" + String(repeating: "x", count: 4096) + "{{end}}")
        #expect(message?.hasSuffix("output is larger than 64MB; narrow the template") == true, "\(String(describing: message))")
        #expect(
            F.error(#"{{pad "x" 9223372036854775807 9223372036854775807}}"#)?.contains(
                "error calling pad: strings: Repeat output length overflow") == true)
    }

    @Test("printf widths and precisions past a million end the format as Go's does (NOVERB), not a padding spree")
    func hugeWidth() throws {
        let out = try F.run(#"{{printf "%99999999999999999999d|%s" 1 "a"}}|{{printf "%s %.99999999f" "a" 1.5}}"#)
        #expect(out == "%!(NOVERB)%!(EXTRA int=1, string=a)|a %!(NOVERB)%!(EXTRA float64=1.5)", "\(out)")
    }

    @Test("deeply nested parentheses and blocks are refused at depth 100")
    func deepNesting() {
        let parens = "{{" + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + "}}"
        #expect(F.error(parens) == "Template parsing error: template: :1: exceeded maximum template depth (100)")
        let blocks = String(repeating: "{{if 1}}", count: 5000) + String(repeating: "{{end}}", count: 5000)
        #expect(F.error(blocks) == "Template parsing error: template: :1: exceeded maximum template depth (100)")
    }

    @Test("numbers too big for an int become floats, as Go's constants do; min int prints")
    func bigNumbers() throws {
        let out = try F.run("{{99999999999999999999}} {{-9223372036854775808}} {{printf \"%d\" -9223372036854775808}}")
        #expect(out == "1e+20 -9223372036854775808 -9223372036854775808", "\(out)")
    }
}

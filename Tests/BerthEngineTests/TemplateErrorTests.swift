import Testing
@testable import BerthEngine

/// Template mistakes give Go's messages behind Docker's `Template parsing
/// error: ` prefix, as one line, with exit code 1.
@Suite("Go templates: errors")
struct TemplateErrorTests {
    private typealias F = TemplateFixtures

    @Test("an unknown field of a typed row is Go's can't-evaluate error, with line and column")
    func unknownField() {
        #expect(F.error("{{.Foo}}") == "Template parsing error: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext")
        #expect(F.error("x\n  {{ .Names.Foo }}") == "Template parsing error: template: :2:5: executing \"\" at <.Names.Foo>: can't evaluate field Foo in type string")
    }

    @Test("an unknown key of an inspect record is Go's map-has-no-entry error")
    func unknownKey() {
        #expect(F.error("{{.Foo}}", TemplateValue(F.inspect)) == "Template parsing error: template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\"")
        #expect(F.error("{{.State.Nope}}", TemplateValue(F.inspect)) == "Template parsing error: template: :1:2: executing \"\" at <.State.Nope>: map has no entry for key \"Nope\"")
        #expect(F.error("{{.Config.Entrypoint.X}}", TemplateValue(F.inspect)) == "Template parsing error: template: :1:2: executing \"\" at <.Config.Entrypoint.X>: nil pointer evaluating interface {}.X")
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
        #expect(F.error(#"{{upper "a" "b"}}"#) == "Template parsing error: template: :1:2: executing \"\" at <upper>: wrong number of args for upper: want 1 got 2")
        #expect(F.error("{{upper 1}}") == "Template parsing error: template: :1:8: executing \"\" at <1>: wrong type for value; expected string; got int")
        #expect(F.error("{{.Names 1}}") == "Template parsing error: template: :1:2: executing \"\" at <.Names>: Names has arguments but cannot be invoked as function")
        #expect(F.error("{{range .N}}{{end}}", .map([("N", .string("x"))], strict: false)) == "Template parsing error: template: :1:8: executing \"\" at <.N>: range can't iterate over x")
    }

    @Test("every template error exits 1, as Docker's CLI")
    func exitCode() {
        let parse = #expect(throws: BerthError.self) { try Template("{{foo}}") }
        #expect(parse?.exitCode == 1)
        let run = #expect(throws: BerthError.self) { try Template("{{.Foo}}").render(F.context) }
        #expect(run?.exitCode == 1)
    }
}

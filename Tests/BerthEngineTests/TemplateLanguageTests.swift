import Testing
@testable import BerthEngine

/// Go text/template's language, with the outputs Go (and so Docker's CLI) gives.
@Suite("Go templates: the language")
struct TemplateLanguageTests {
    private typealias F = TemplateFixtures

    @Test("fields, dot and $ print as Go prints them: lists [a b], maps map[k:v] with sorted keys")
    func fields() throws {
        #expect(try F.run("{{.Names}} {{.N}} {{.T}} {{.List}} {{.Map}}") == "web 2 true [a b] map[a:1 b:2]")
        #expect(try F.run("{{range .List}}{{.}}/{{$.Names}} {{end}}") == "a/web b/web ")
        #expect(try F.run("{{.Map.a}} {{.Map.zz}}") == "1 <no value>")
    }

    @Test("literals: quoted strings with escapes, raw strings, characters, ints, floats, hex, bools")
    func literals() throws {
        #expect(try F.run(#"{{"a\tb\"c\u00e9"}}"#) == "a\tb\"c\u{e9}")
        #expect(try F.run("{{`a\\tb`}}") == "a\\tb")
        #expect(
            try F.run("{{'a'}} {{1}} {{-2}} {{1.5}} {{0x10}} {{1e3}} {{1.0}} {{1e6}} {{0.00001}} {{123456.0}}")
                == "97 1 -2 1.5 16 1000 1 1e+06 1e-05 123456")
        #expect(try F.run("{{true}} {{false}}") == "true false")
    }

    @Test("{{- and -}} trim the spaces and newlines beside an action; comments print nothing")
    func trimAndComments() throws {
        #expect(try F.run("a  \n {{- .Names -}} \n  b") == "awebb")
        #expect(try F.run("a {{/* a comment */}}b") == "a b")
        #expect(try F.run("a  {{- /* trimmed */ -}}  b") == "ab")
        #expect(try F.run("{{.Names -}}\n{{- .N}}") == "web2")
    }

    @Test("if, else if, else; with binds dot; the truth of empty values is false")
    func conditionals() throws {
        #expect(try F.run("{{if .T}}y{{else}}n{{end}}{{if .Empty}}y{{else}}n{{end}}{{if .None}}y{{end}}") == "yn")
        #expect(try F.run("{{if eq .N 1}}one{{else if eq .N 2}}two{{else}}many{{end}}") == "two")
        #expect(try F.run("{{with .Names}}<{{.}}>{{end}}{{with .Empty}}x{{else}}none{{end}}") == "<web>none")
        #expect(try F.run("{{with $v := .Image}}{{$v}}{{end}}") == "busybox:latest")
        #expect(try F.run("{{if and .T (not .Empty)}}ok{{end}}") == "ok")
    }

    @Test("range over lists and maps (sorted keys), with $i, $v, else, break and continue")
    func ranges() throws {
        #expect(try F.run("{{range $i, $v := .List}}{{$i}}={{$v}} {{end}}") == "0=a 1=b ")
        #expect(try F.run("{{range $k, $v := .Map}}{{$k}}:{{$v}},{{end}}") == "a:1,b:2,")
        #expect(try F.run("{{range $v := .List}}{{$v}}{{end}}") == "ab")
        #expect(try F.run("{{range .None}}x{{else}}empty{{end}}") == "empty")
        #expect(try F.run("{{range .Nums}}{{if eq . 3}}{{break}}{{end}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}") == "02")
        #expect(try F.run("{{range 3}}{{.}}{{end}}") == "012")
    }

    @Test("variables: := declares, = assigns, scopes end with their block")
    func variables() throws {
        #expect(try F.run(#"{{$x := "a"}}{{$x}}{{$x = "b"}}{{$x}}"#) == "ab")
        #expect(try F.run(#"{{$x := 1}}{{range .List}}{{$x = 2}}{{end}}{{$x}}"#) == "2")
        #expect(
            F.error(#"{{if .T}}{{$y := 1}}{{end}}{{$y}}"#) == "Template parsing error: template: :1: undefined variable \"$y\"")
    }

    @Test("pipelines pass the value as the last argument; parentheses group; fields chain off them")
    func pipelines() throws {
        #expect(try F.run("{{.Names | upper}}") == "WEB")
        #expect(try F.run(#"{{.Names | printf "%s-%s" "x"}}"#) == "x-web")
        #expect(try F.run("{{(index .List 1) | upper}}") == "B")
        #expect(try F.run(#"{{(split .Image ":") | len}} {{index (split .Image ":") 0}}"#) == "2 busybox")
        #expect(try F.inspect("{{(.State).Status}}") == "exited")
    }

    @Test("inspect: records are maps; {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} works; .ID reads Id")
    func inspect() throws {
        #expect(try F.inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}") == "10.89.0.7 10.88.0.2 ")
        #expect(try F.inspect("{{.ID}} {{.Id}} {{.Name}}") == "0ed8af693146ebb7 0ed8af693146ebb7 /web")
        #expect(try F.inspect("{{if eq .State.ExitCode 137}}killed{{end}} {{.State.Running}}") == "killed false")
        #expect(try F.inspect("{{.Config.Cmd}} {{len .Config.Cmd}} {{index .Config.Cmd 2}}") == "[sh -c echo hi] 3 echo hi")
        #expect(
            try F.inspect("{{.Config.Labels}} {{.Config.Entrypoint}} {{json .Config.Entrypoint}}")
                == "map[a:1 b:2] <no value> null")
        #expect(try F.inspect("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}") == "a=1;b=2;")
    }

    @Test("rows with labels answer Docker's {{.Label \"key\"}} method; a missing label is empty")
    func labelMethod() throws {
        let row = TemplateObject.context("*volume.volumeContext", .object([("Name", .string("v1"))]), labels: [("tier", "db")])
        #expect(try F.run(#"{{.Label "tier"}}|{{.Label "nope"}}|{{"tier" | .Label}}"#, row) == "db||db")
        let table = try Template(#"table {{.Name}}\t{{.Label "com.example.db-tier"}}"#).renderAll(
            [row], titles: ["Name": "VOLUME NAME"])
        #expect(table == "VOLUME NAME   DB TIER\nv1\n", "\(table)")
        #expect(
            F.error("{{.Label}}", row)
                == "Template parsing error: template: :1:2: executing \"\" at <.Label>: wrong number of args for Label: want 1 got 0"
        )
        #expect(
            F.error(#"{{.Label "a" "b"}}"#, row)
                == "Template parsing error: template: :1:2: executing \"\" at <.Label>: wrong number of args for Label: want 1 got 2"
        )
    }
}

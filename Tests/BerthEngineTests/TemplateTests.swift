import Testing
@testable import BerthEngine

@Suite("--format templates: tables")
struct TemplateTests {
    private let rows: [TemplateValue] = [
        TemplateObject.context(
            "*formatter.ContainerContext",
            .object([("Names", .string("web")), ("Ports", .string("0.0.0.0:8088->80/tcp")), ("Status", .string("Up 2 minutes"))])),
        TemplateObject.context(
            "*formatter.ContainerContext",
            .object([
                ("Names", .string("a_rather_long_name")), ("Ports", .string("")), ("Status", .string("Exited (0) 1 second ago")),
            ])),
    ]
    private let titles = ["Names": "NAMES", "Ports": "PORTS", "Status": "STATUS"]

    @Test("a table format prints Docker's column titles and aligns the cells as its tabwriter does")
    func tableAligned() throws {
        let out = try Template("table {{.Names}}\\t{{.Ports}}\\t{{.Status}}").renderAll(rows, titles: titles)
        #expect(
            out == """
                NAMES                PORTS                  STATUS
                web                  0.0.0.0:8088->80/tcp   Up 2 minutes
                a_rather_long_name                          Exited (0) 1 second ago

                """)
    }

    @Test("a plain format keeps its tabs and prints no header")
    func plainKeepsTabs() throws {
        let out = try Template("{{.Names}}\\t{{upper .Status}}").renderAll(rows, titles: titles)
        #expect(out == "web\tUP 2 MINUTES\na_rather_long_name\tEXITED (0) 1 SECOND AGO\n")
    }

    @Test("Docker's functions leave a table header's titles as they are; the cells get them applied")
    func headerFunctions() throws {
        let out = try Template("table {{upper .Names}}\\t{{json .Status}}\\t{{truncate .Names 3}}").renderAll(
            rows, titles: titles)
        #expect(
            out == """
                NAMES                STATUS                      NAMES
                WEB                  "Up 2 minutes"              web
                A_RATHER_LONG_NAME   "Exited (0) 1 second ago"   a_r

                """)
    }

    @Test("the json keyword prints each row as one JSON object with sorted keys, as Docker's formatter")
    func jsonKeyword() throws {
        let out = try Template("json").renderAll(Array(rows.prefix(1)), titles: titles)
        #expect(out == "{\"Names\":\"web\",\"Ports\":\"0.0.0.0:8088->80/tcp\",\"Status\":\"Up 2 minutes\"}\n")
    }

    @Test("listing formats are trimmed of spaces, as Docker's formatter does; inspect formats are not")
    func trimming() throws {
        #expect(try Template("  {{.Names}}  ").render(rows[0]) == "web")
        #expect(try Template("\t{{.Names}} ").render(rows[0]) == "\tweb")  // strings.Trim(f, " "): tabs stay
        #expect(try Template(" json").render(rows[0]) == "json")  // only exactly `json` is the keyword
        #expect(try Template("  {{.Name}}\\n", style: .plain).render(.object([("Name", .string("x"))])) == "  x\\n")
    }

    @Test("an unclosed action is Go's parse error, exit 1")
    func unclosed() {
        let error = #expect(throws: BerthError.self) { try Template("{{.Names") }
        #expect(error?.message == "Template parsing error: template: :1: unclosed action")
        #expect(error?.exitCode(engine: ExitCode.general) == 1 && error?.kind == .invalidArgument)
    }

    @Test("cells are measured in characters as Go counts them (runes), not bytes")
    func widths() throws {
        let rows: [TemplateValue] = [
            .map([("A", .string("e\u{301}")), ("B", .string("x"))], strict: false),
            .map([("A", .string("abcdefghij")), ("B", .string("y"))], strict: false),
        ]
        let out = try Template("table {{.A}}\t{{.B}}").renderAll(rows, titles: ["A": "A", "B": "B"])
        #expect(out.split(separator: "\n").map { $0.unicodeScalars.count } == [14, 14, 14], "\(out)")
    }
}

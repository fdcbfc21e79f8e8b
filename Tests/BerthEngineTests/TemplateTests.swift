import Testing
@testable import BerthEngine

@Suite("--format templates")
struct TemplateTests {
    private let rows: [JSON] = [
        .object([("Names", .string("web")), ("Ports", .string("0.0.0.0:8088->80/tcp")), ("Status", .string("Up 2 minutes"))]),
        .object([("Names", .string("a_rather_long_name")), ("Ports", .string("")), ("Status", .string("Exited (0) 1 second ago"))]),
    ]
    private let titles = ["Names": "NAMES", "Ports": "PORTS", "Status": "STATUS"]

    @Test("a table format prints Docker's column titles and aligns the cells as its tabwriter does")
    func tableAligned() throws {
        let out = try Template("table {{.Names}}\\t{{.Ports}}\\t{{.Status}}").renderAll(rows, titles: titles)
        #expect(out == """
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

    @Test("an unclosed action is an error that names the format and the fix")
    func unclosed() {
        let error = #expect(throws: BerthError.self) { try Template("{{.Names") }
        #expect(error?.message.contains("{{.Names") == true && error?.message.contains("close it with }}") == true,
                "\(String(describing: error))")
    }

    @Test("cells are measured in characters as Go counts them (runes), not bytes")
    func widths() throws {
        let rows: [JSON] = [.object([("A", .string("e\u{301}")), ("B", .string("x"))]), .object([("A", .string("abcdefghij")), ("B", .string("y"))])]
        let out = try Template("table {{.A}}\t{{.B}}").renderAll(rows, titles: ["A": "A", "B": "B"])
        #expect(out.split(separator: "\n").map { $0.unicodeScalars.count } == [14, 14, 14], "\(out)")
    }
}

@testable import BerthEngine

/// Data shaped like what Docker's templates see: a typed formatter context,
/// and an inspect record decoded from JSON.
enum TemplateFixtures {
    static let context = TemplateValue.object(
        TemplateObject(
            typeName: "*formatter.ContainerContext",
            fields: [
                ("Names", .string("web")), ("Image", .string("busybox:latest")), ("N", .int(2)), ("T", .bool(true)),
                ("Empty", .string("")), ("List", .list([.string("a"), .string("b")])),
                ("Nums", .list((0...4).map { .int($0) })), ("None", .list([])),
                ("Map", .map([("b", .int(2)), ("a", .int(1))], strict: false)),
            ]))

    static let inspect: JSON = .object([
        ("Id", .string("0ed8af693146ebb7")), ("Name", .string("/web")),
        ("State", .object([("Status", .string("exited")), ("ExitCode", .number(137)), ("Running", .bool(false))])),
        (
            "Config",
            .object([
                ("Cmd", .strings(["sh", "-c", "echo hi"])), ("Entrypoint", .null),
                ("Labels", .object([("b", .string("2")), ("a", .string("1"))])),
            ])
        ),
        (
            "NetworkSettings",
            .object([
                (
                    "Networks",
                    .object([
                        ("bridge", .object([("IPAddress", .string("10.88.0.2"))])),
                        ("backend", .object([("IPAddress", .string("10.89.0.7"))])),
                    ])
                )
            ])
        ),
    ])

    /// Renders `format` (inspect style) against `value`.
    static func run(_ format: String, _ value: TemplateValue = context) throws -> String {
        try Template(format, style: .plain).render(value)
    }

    static func inspect(_ format: String) throws -> String {
        try Template(format, style: .plain).render(inspect)
    }

    /// The error message a template gives, or nil if it rendered.
    static func error(_ format: String, _ value: TemplateValue = context) -> String? {
        do throws(BerthError) {
            _ = try Template(format, style: .plain).render(value)
            return nil
        } catch {
            return error.message
        }
    }
}

/// The values a template works on: what Go's text/template sees when Docker
/// executes a format against a typed struct or a decoded JSON map.
public indirect enum TemplateValue: Sendable {
    /// Go's invalid value: a key a map does not have. Prints `<no value>`.
    case missing
    /// Go's nil (a JSON `null`). Prints `<no value>` as an action, `<nil>` in `printf`.
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case list([TemplateValue])
    /// A Go map (`strict == false`: a missing key is `<no value>`), or a JSON
    /// object as Docker's `inspect` decodes it (`strict`: a missing key is
    /// `map has no entry for key "Foo"`).
    case map([(String, TemplateValue)], strict: Bool)
    /// A typed Go struct such as `*formatter.ContainerContext`.
    case object(TemplateObject)

    /// Go's truth: false, 0, nil, and empty strings, lists and maps are false.
    public var isTrue: Bool {
        switch self {
        case .missing, .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let f): return f != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .map(let m, _): return !m.isEmpty
        case .object: return true
        }
    }

    /// Whether this is Go's nil or invalid value.
    public var isNil: Bool {
        switch self {
        case .missing, .null: return true
        default: return false
        }
    }

    /// The Go type name used in error messages and `printf`'s `%!v(…)` notes.
    public var goType: String {
        switch self {
        case .missing, .null: return "<nil>"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float64"
        case .string: return "string"
        case .list: return "[]interface {}"
        case .map: return "map[string]interface {}"
        case .object(let o): return o.typeName
        }
    }

    /// A JSON document as Docker's `inspect` sees it: objects are strict maps
    /// (Docker's typed structs, then its `missingkey=error` fallback), except
    /// those that are Go maps in Docker's types (`Labels`, `Networks`, `Ports`,
    /// `Options`, …), where a missing key is `<no value>`. Integral numbers are
    /// ints, so `eq .State.ExitCode 0` works.
    public init(_ json: JSON, strict: Bool = true) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let n):
            self = n == n.rounded() && abs(n) < 9e18 ? .int(Int64(n)) : .float(n)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map { TemplateValue($0) })
        case .object(let members):
            self = .map(
                members.map { key, value in
                    if Self.goMaps.contains(key), case .object = value { return (key, TemplateValue(value, strict: false)) }
                    return (key, TemplateValue(value))
                }, strict: strict)
        }
    }

    /// Keys whose values are Go maps (`map[string]…`) in Docker's inspect types.
    static let goMaps: Set<String> = [
        "Labels", "Networks", "Ports", "PortBindings", "ExposedPorts", "Volumes",
        "Options", "DriverOpts", "Containers", "Sysctls", "StorageOpt", "Tmpfs",
        "Data", "Attributes", "Status",
    ]

    /// The value as JSON, for the `json` function: objects keep their field
    /// order (Docker's struct order), typed structs use their own JSON form.
    public var json: JSON {
        switch self {
        case .missing, .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(Double(i))
        case .float(let f): return .number(f)
        case .string(let s): return .string(s)
        case .list(let l): return .array(l.map(\.json))
        case .map(let m, let strict):
            // Go's encoder sorts the keys of maps; records keep Docker's struct order.
            return .object((strict ? m : m.sorted { $0.0 < $1.0 }).map { ($0.0, $0.1.json) })
        case .object(let o): return o.json ?? .object(o.fields.map { ($0.0, $0.1.json) })
        }
    }

    /// How Go's `fmt.Print` shows the value: strings bare, lists `[a b]`,
    /// maps `map[k:v]` with sorted keys, structs `{v1 v2}`, nil `<nil>`.
    public var printed: String {
        switch self {
        case .missing: return "<no value>"
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let f): return GoFloat.shortest(f)
        case .string(let s): return s
        case .list(let l): return "[" + l.map(\.printed).joined(separator: " ") + "]"
        case .map(let m, _):
            return "map[" + m.sorted { $0.0 < $1.0 }.map { "\($0.0):\($0.1.printed)" }.joined(separator: " ") + "]"
        case .object(let o): return "{" + o.fields.map(\.1.printed).joined(separator: " ") + "}"
        }
    }
}

/// A typed struct: fields in declaration order; a field it lacks is an error
/// (`can't evaluate field Foo in type *formatter.ContainerContext`).
public struct TemplateObject: Sendable {
    /// The Go type, e.g. `*formatter.ContainerContext`.
    public var typeName: String
    public var fields: [(String, TemplateValue)]
    /// What `{{json .}}` prints, when it differs from the fields (Docker's
    /// formatter contexts marshal as a map with sorted keys; events use JSON tags).
    public var json: JSON?

    /// Labels for Docker's `{{.Label "key"}}` method (nil: the type has no such method).
    public var labels: [(String, String)]?

    public init(
        typeName: String, fields: [(String, TemplateValue)], json: JSON? = nil,
        labels: [(String, String)]? = nil
    ) {
        self.typeName = typeName
        self.fields = fields
        self.json = json
        self.labels = labels
    }

    /// A formatter context (ps, images, …) whose fields are all strings:
    /// `{{json .}}` prints them with sorted keys, as Docker's MarshalJSON does.
    public static func context(_ typeName: String, _ row: JSON, labels: [(String, String)]? = nil) -> TemplateValue {
        guard case .object(let members) = row else { return TemplateValue(row) }
        let fields = members.map { ($0.0, TemplateValue($0.1, strict: false)) }
        return .object(
            TemplateObject(
                typeName: typeName, fields: fields,
                json: .object(members.sorted { $0.0 < $1.0 }), labels: labels))
    }

    /// The field named `name`, if the struct has it.
    public subscript(name: String) -> TemplateValue? { fields.first { $0.0 == name }?.1 }
}

/// Go's float formatting for `%v`: the shortest digits that read back the
/// same, with an exponent (`1e+06`, `1e-05`) when it is below -4 or at least 6.
enum GoFloat {
    static func shortest(_ f: Double) -> String {
        if f.isNaN { return "NaN" }
        if f.isInfinite { return f < 0 ? "-Inf" : "+Inf" }
        if f == 0 { return f.sign == .minus ? "-0" : "0" }
        let (negative, digits, exponent) = decompose(f)
        let sign = negative ? "-" : ""
        // strconv's 'g' with the shortest precision: %e when the exponent is below -4 or at least 6.
        if exponent < -4 || exponent >= 6 {
            var mantissa = String(digits.first!)
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            let e = abs(exponent)
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
        }
        if exponent < 0 { return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits }
        if digits.count <= exponent + 1 { return sign + digits + String(repeating: "0", count: exponent + 1 - digits.count) }
        let point = digits.index(digits.startIndex, offsetBy: exponent + 1)
        return sign + digits[..<point] + "." + digits[point...]
    }

    /// The shortest decimal digits of `f` (no leading/trailing zeros) and the
    /// exponent of the first digit, from Swift's shortest round-trip text.
    static func decompose(_ f: Double) -> (Bool, String, Int) {
        var text = "\(abs(f))"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let whole = String(parts[0]), frac = parts.count > 1 ? String(parts[1]) : ""
        var digits = whole + frac
        var pointExponent = whole.count - 1 + exponent
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); pointExponent -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (f < 0, digits, pointExponent)
    }
}

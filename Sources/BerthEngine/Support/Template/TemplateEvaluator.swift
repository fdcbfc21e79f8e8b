/// Executes a parsed template against a value, as Go's text/template does.
struct TemplateEvaluator {
    let src: [UInt8]
    let functions: TemplateFunctions
    private var variables: [(String, TemplateValue)] = []
    private(set) var output = ""

    init(src: [UInt8], functions: TemplateFunctions, root: TemplateValue) {
        self.src = src
        self.functions = functions
        variables = [("$", root)]
    }

    private enum Flow { case normal, breakLoop, continueLoop }

    /// Output beyond this many bytes stops the template (`{{range 1000000000000}}`
    /// would otherwise fill memory).
    static let outputLimit: Int64 = 64 << 20

    private func checkSize(_ pos: Int, _ context: String) throws(BerthError) {
        if output.utf8.count > Self.outputLimit {
            throw fail("output is larger than \(Self.outputLimit >> 20)MB; narrow the template", pos, context)
        }
    }

    mutating func run(_ nodes: [TemplateNode], dot: TemplateValue) throws(BerthError) {
        _ = try walk(nodes, dot: dot)
    }

    private func fail(_ message: String, _ pos: Int, _ context: String) -> BerthError {
        TemplateError.execute(message, at: pos, context: context, in: src)
    }

    private mutating func walk(_ nodes: [TemplateNode], dot: TemplateValue) throws(BerthError) -> Flow {
        for node in nodes {
            switch node {
            case .text(let s): output += s
            case .action(let pipe):
                let value = try evaluate(pipe, dot: dot)
                if pipe.declarations.isEmpty {
                    if case .null = value { output += "<no value>" } else { output += value.printed }
                }
                try checkSize(pipe.pos, pipe.text)
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            case .branch(let kind, let pipe, let body, let otherwise):
                let mark = variables.count
                defer { variables.removeLast(variables.count - mark) }
                let flow: Flow
                switch kind {
                case .ifBranch, .with:
                    let value = try evaluate(pipe, dot: dot)
                    if value.isTrue {
                        flow = try walk(body, dot: kind == .with ? value : dot)
                    } else if let otherwise {
                        flow = try walk(otherwise, dot: dot)
                    } else {
                        flow = .normal
                    }
                case .range: flow = try range(pipe, body, otherwise, dot: dot)
                }
                if flow != .normal { return flow }
            }
        }
        return .normal
    }

    private mutating func range(
        _ pipe: TemplatePipe, _ body: [TemplateNode], _ otherwise: [TemplateNode]?,
        dot: TemplateValue
    ) throws(BerthError) -> Flow {
        var bare = pipe
        bare.declarations = []
        let value = try evaluate(bare, dot: dot)
        if case .int(let n) = value {
            // Counted lazily: `range 1000000000000` must not build a list first.
            var i: Int64 = 0
            if n <= 0 { return try otherwise.map { (o) throws(BerthError) in try walk(o, dot: dot) } ?? .normal }
            while i < n {
                let mark = variables.count
                for name in pipe.declarations { variables.append((name, .int(i))) }
                let flow = try walk(body, dot: .int(i))
                variables.removeLast(variables.count - mark)
                try checkSize(pipe.pos, pipe.text)
                if flow == .breakLoop { break }
                i += 1
            }
            return .normal
        }
        var items: [(TemplateValue, TemplateValue)] = []
        switch value {
        case .list(let list): items = list.enumerated().map { (.int(Int64($0.offset)), $0.element) }
        case .map(let members, _): items = members.sorted { $0.0 < $1.0 }.map { (.string($0.0), $0.1) }
        case .missing, .null: items = []
        default: throw fail("range can't iterate over \(value.printed)", pipe.pos, pipe.text)
        }
        if items.isEmpty { return try otherwise.map { (o) throws(BerthError) in try walk(o, dot: dot) } ?? .normal }
        for (key, element) in items {
            let mark = variables.count
            if pipe.declarations.count == 1 { variables.append((pipe.declarations[0], element)) }
            if pipe.declarations.count == 2 {
                variables.append((pipe.declarations[0], key))
                variables.append((pipe.declarations[1], element))
            }
            let flow = try walk(body, dot: element)
            variables.removeLast(variables.count - mark)
            try checkSize(pipe.pos, pipe.text)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    /// A pipeline's value; its declarations are set or assigned.
    private mutating func evaluate(_ pipe: TemplatePipe, dot: TemplateValue) throws(BerthError) -> TemplateValue {
        var value: TemplateValue?
        for command in pipe.commands { value = try self.command(command, dot: dot, final: value) }
        let result = value ?? .missing
        for name in pipe.declarations {
            if pipe.isAssignment, let i = variables.lastIndex(where: { $0.0 == name }) {
                variables[i].1 = result
            } else {
                variables.append((name, result))
            }
        }
        return result
    }

    private mutating func command(
        _ cmd: TemplateCommand, dot: TemplateValue,
        final: TemplateValue?
    ) throws(BerthError) -> TemplateValue {
        let first = cmd.args[0]
        if case .function(let name) = first.kind {
            return try call(name, first, Array(cmd.args.dropFirst()), dot: dot, final: final, cmd: cmd)
        }
        if cmd.args.count > 1 || final != nil {
            switch first.kind {
            case .field(let chain):
                let receiver = try fields(chain.dropLast(), of: dot, first)
                // A table header titles `{{.Label "com.example.tier"}}` as `TIER`, as Docker did.
                if chain.last == "Label", functions.header, cmd.args.count == 2,
                    case .string(let key)? = try? operand(cmd.args[1], dot: dot)
                {
                    let last = key.split(separator: ".", omittingEmptySubsequences: false).last.map(String.init) ?? key
                    return .string(last.replacingAll("-", " ").replacingAll("_", " ").uppercased())
                }
                // Docker's rows have one method with an argument: `{{.Label "key"}}`.
                if chain.last == "Label", case .object(let object) = receiver, let labels = object.labels {
                    var args: [TemplateValue] = []
                    for arg in cmd.args.dropFirst() { args.append(try operand(arg, dot: dot)) }
                    if let final { args.append(final) }
                    guard args.count == 1 else {
                        throw fail("wrong number of args for Label: want 1 got \(args.count)", first.pos, first.text)
                    }
                    guard case .string(let key) = args[0] else {
                        throw fail("wrong type for value; expected string; got \(args[0].goType)", first.pos, first.text)
                    }
                    return .string(labels.first { $0.0 == key }?.1 ?? "")
                }
                let isMap: Bool
                if case .map = receiver { isMap = true } else { isMap = false }
                let name = chain.last!
                _ = try field(name, of: receiver, first)
                throw fail(
                    isMap
                        ? "\(name) is not a method but has arguments"
                        : "\(name) has arguments but cannot be invoked as function", first.pos, first.text)
            default: throw fail("can't give argument to non-function \(first.text)", first.pos, first.text)
            }
        }
        return try operand(first, dot: dot)
    }

    private mutating func call(
        _ name: String, _ node: TemplateOperand, _ argNodes: [TemplateOperand], dot: TemplateValue,
        final: TemplateValue?, cmd: TemplateCommand
    ) throws(BerthError) -> TemplateValue {
        let count = argNodes.count + (final == nil ? 0 : 1)
        // and/or evaluate their arguments lazily and return one of them.
        if name == "and" || name == "or" {
            guard count >= 1 else { throw fail("wrong number of args for \(name): want at least 1 got 0", node.pos, cmd.text) }
            var last = TemplateValue.missing
            for arg in argNodes {
                last = try operand(arg, dot: dot)
                if last.isTrue == (name == "or") { return last }
            }
            if let final { last = final }
            return last
        }
        var args: [TemplateValue] = []
        for arg in argNodes { args.append(try operand(arg, dot: dot)) }
        if let final { args.append(final) }
        do {
            return try functions.call(name, args)
        } catch let error {
            switch error {
            case .arity(let want):
                throw fail("wrong number of args for \(name): want \(want) got \(count)", node.pos, node.text)
            case .argument(let index, let message):
                let argNode = index < argNodes.count ? argNodes[index] : node
                throw fail(message, argNode.pos, argNode.text)
            case .call(let message):
                throw fail("error calling \(name): \(message)", node.pos, cmd.text)
            }
        }
    }

    private mutating func operand(_ op: TemplateOperand, dot: TemplateValue) throws(BerthError) -> TemplateValue {
        switch op.kind {
        case .dot: return dot
        case .null: return .null
        case .literal(let v): return v
        case .field(let chain): return try fields(chain[...], of: dot, op)
        case .variable(let name, let chain):
            guard let value = variables.last(where: { $0.0 == name })?.1 else {
                throw fail("undefined variable: \(name)", op.pos, op.text)
            }
            return try fields(chain[...], of: value, op)
        case .function(let name):
            let cmd = TemplateCommand(args: [op], pos: op.pos)
            return try call(name, op, [], dot: dot, final: nil, cmd: cmd)
        case .pipe(let pipe, let chain):
            let mark = variables.count
            let value = try evaluate(pipe, dot: dot)
            variables.removeLast(variables.count - mark)
            return try fields(chain[...], of: value, op)
        }
    }

    private func fields(
        _ chain: ArraySlice<String>, of value: TemplateValue,
        _ node: TemplateOperand
    ) throws(BerthError) -> TemplateValue {
        var current = value
        for name in chain { current = try field(name, of: current, node) }
        return current
    }

    /// One `.Name` step. Typed structs and inspect records reject unknown
    /// names; Go maps give `<no value>`. On an inspect record `.ID` also
    /// reads `Id`, as Docker's typed `ID` field (JSON `Id`) lets it.
    private func field(_ name: String, of value: TemplateValue, _ node: TemplateOperand) throws(BerthError) -> TemplateValue {
        switch value {
        case .object(let object):
            if name == "Label", object.labels != nil {
                throw fail("wrong number of args for Label: want 1 got 0", node.pos, node.text)
            }
            guard let v = object[name] else {
                throw fail("can't evaluate field \(name) in type \(object.typeName)", node.pos, node.text)
            }
            return v
        case .map(let members, let strict):
            if let v = members.first(where: { $0.0 == name })?.1 { return v }
            if strict, name == "ID", let v = members.first(where: { $0.0 == "Id" })?.1 { return v }
            if strict { throw fail("map has no entry for key \"\(name)\"", node.pos, node.text) }
            return .missing
        case .missing: return .missing
        case .null: throw fail("nil pointer evaluating interface {}.\(name)", node.pos, node.text)
        default: throw fail("can't evaluate field \(name) in type \(value.goType)", node.pos, node.text)
        }
    }
}

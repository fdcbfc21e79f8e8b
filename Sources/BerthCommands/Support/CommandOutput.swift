#if canImport(Glibc)
import Glibc
#endif
import BerthEngine

extension CommandContext {
    /// Prints what an `inspect` found: each object through the `--format`
    /// template, or all of them as one JSON array (also for `--format json`),
    /// as Docker does. A template error stops with exit 1.
    func printInspected(_ objects: [JSON], format: String?) throws(BerthError) {
        guard let format, format != "json" else {
            print(JSON.array(objects).pretty())
            return
        }
        let template = try Template(format, style: .plain)
        for object in objects { print(try template.render(object)) }
    }

    /// A listing's `--format`: `table` alone is the default table (`table`,
    /// the command's default columns), `json` one JSON object a line, anything
    /// else a template (`table …` adds the header row).
    func listingTemplate(_ format: String, table: String) throws(BerthError) -> Template {
        try Template(format == "table" ? table : format, style: .listing)
    }

    /// Runs `body` for each argument, printing errors as Docker does and
    /// going on; returns the last failure's exit code (0 if none). A failure
    /// of a kind in `tolerated` is printed but leaves the status alone
    /// (`rm -f` of a missing container exits 0 in Docker).
    func forEach(
        _ names: [String], printName: Bool, tolerated: Set<BerthError.Kind> = [],
        _ body: (String) throws(BerthError) -> Void
    ) -> Int32 {
        var status: Int32 = 0
        for name in names {
            do throws(BerthError) {
                try body(name)
                if printName { print(name) }
            } catch {
                warn("Error: \(error)")
                if !tolerated.contains(error.kind) { status = error.exitCode(engine: ExitCode.general) }
            }
        }
        return status
    }
}

extension CommandContext {
    /// `version --format` and `info --format`: `json` prints the document as
    /// one compact JSON line (Docker 24's `--format json`), anything else is
    /// a template over it, as `inspect -f` reads its document.
    func printDocument(_ document: JSON, format: String) throws(BerthError) {
        if format == "json" {
            print(document.compact(escapingHTML: false))
            return
        }
        print(try Template(format, style: .plain).render(document))
    }
}

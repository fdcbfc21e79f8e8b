extension String {
    /// The byte offset where `needle` first occurs in this string's UTF-8,
    /// or nil. A plain byte comparison, for the ASCII markers of paths and
    /// file names: `ranges(of:)` and `contains(_:)` on strings come from
    /// the string-processing library, whose searcher builds a table per
    /// call and whose first use costs a look-up of its generic types by the
    /// runtime, on paths every `run` takes.
    public func firstUTF8Offset(of needle: String) -> Int? { utf8Offset(of: needle, last: false) }

    /// The byte offset where `needle` last occurs in this string's UTF-8, or nil.
    public func lastUTF8Offset(of needle: String) -> Int? { utf8Offset(of: needle, last: true) }

    /// Whether `needle` occurs in this string, compared as UTF-8 bytes.
    public func containsUTF8(_ needle: String) -> Bool {
        needle.isEmpty || firstUTF8Offset(of: needle) != nil
    }

    /// What follows the first (or last) `marker`, or nil when there is none.
    public func utf8Suffix(after marker: String, last: Bool = false) -> String? {
        guard let at = utf8Offset(of: marker, last: last) else { return nil }
        return String(decoding: Array(utf8)[(at + marker.utf8.count)...], as: UTF8.self)
    }

    private func utf8Offset(of needle: String, last: Bool) -> Int? {
        let bytes = Array(utf8)
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
        let starts = 0...(bytes.count - pattern.count)
        let matches = { (start: Int) in bytes[start..<start + pattern.count].elementsEqual(pattern) }
        return last ? starts.reversed().first(where: matches) : starts.first(where: matches)
    }
}

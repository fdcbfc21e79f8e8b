extension String {
    /// The byte offset where `needle` last occurs in this string's UTF-8,
    /// or nil. A plain byte comparison, for the ASCII markers of paths and
    /// file names: `ranges(of:)` and `contains(_:)` on strings come from
    /// the string-processing library, whose searcher builds a table per
    /// call and whose first use costs a look-up of its generic types by the
    /// runtime, on paths every `run` takes.
    public func lastUTF8Offset(of needle: String) -> Int? {
        let bytes = Array(utf8)
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
        var start = bytes.count - pattern.count
        while start >= 0 {
            if bytes[start..<start + pattern.count].elementsEqual(pattern) { return start }
            start -= 1
        }
        return nil
    }

    /// The byte offset where `needle` first occurs in this string's UTF-8, or nil.
    public func firstUTF8Offset(of needle: String) -> Int? {
        let bytes = Array(utf8)
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
        for start in 0...(bytes.count - pattern.count)
        where bytes[start..<start + pattern.count].elementsEqual(pattern) {
            return start
        }
        return nil
    }

    /// Whether `needle` occurs in this string, compared as UTF-8 bytes.
    public func containsUTF8(_ needle: String) -> Bool {
        needle.isEmpty || firstUTF8Offset(of: needle) != nil
    }
}

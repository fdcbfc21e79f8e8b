#if canImport(Glibc)
import Glibc
#endif
import CBerthEdit
import CLibEdit

/// Reads lines from the terminal through libedit: a settable prompt, emacs
/// keys, persistent history and Tab completion. When stdin is not a terminal
/// libedit is never touched and lines are read plainly.
///
/// Ctrl-C: libedit's edit mode is told to turn ISIG off (`setty -d -isig`),
/// so Ctrl-C arrives as the character ^C instead of SIGINT and is bound to
/// `berth-cancel`, which marks the line cancelled and ends it. A signal
/// handler could not do this: libedit's own SIGINT handler restores the
/// terminal and re-sends the signal to the whole process group, and a
/// handler cannot make `el_gets` return without longjmp. While a command
/// runs, the terminal is back in cooked mode, so Ctrl-C there still signals
/// the command's processes.
///
/// Not Sendable: libedit's state is per-thread at best. The C callbacks find
/// this object through EL_CLIENTDATA, never through global Swift state.
public final class LineEditor {
    /// What one read produced.
    public enum Input: Equatable, Sendable {
        /// A line, without its newline.
        case line(String)
        /// Ctrl-C: the line was abandoned.
        case cancelled
        /// Ctrl-D on an empty line, or the end of a non-terminal stdin.
        case endOfInput
    }

    /// The prompt shown before each line (a continuation prompt can be set
    /// between reads).
    public var prompt: String {
        didSet { setPromptBuffer() }
    }

    /// Whether libedit is in use (stdin is a terminal).
    public var isInteractive: Bool { editLine != nil }

    private var editLine: OpaquePointer?
    private var history: OpaquePointer?
    private let historyFile: String?
    private let complete: ((String) -> CompletionResult)?
    private var promptBuffer: UnsafeMutablePointer<CChar>?
    fileprivate var cancelled = false
    private var pending: [UInt8] = []  // buffered stdin for the plain reader
    private var sawEOF = false

    /// Opens the editor.
    /// - Parameters:
    ///   - historyFile: loaded now and rewritten after every line (nil: no history file).
    ///   - complete: the text before the cursor → what Tab offers.
    public init(
        prompt: String = "berth> ", historyFile: String? = nil,
        complete: ((String) -> CompletionResult)? = nil
    ) {
        self.prompt = prompt
        self.historyFile = historyFile
        self.complete = complete
        setPromptBuffer()
        guard Self.standardInputIsTerminal else { return }
        // Multibyte input and display need the user's locale.
        setlocale(LC_CTYPE, "")
        guard let el = berth_el_init("berth") else { return }
        editLine = el
        berth_el_set_clientdata(el, Unmanaged.passUnretained(self).toOpaque())
        berth_el_set_prompt(el, promptCallback)
        berth_el_set_editor(el, "emacs")
        // No EL_SIGNAL: libedit's SIGINT handler would switch the terminal to
        // cooked mode and re-send the signal, leaving the line garbled after
        // an outside `kill -INT`. Resizes are picked up before each line.
        berth_el_set_signal(el, 0)
        if let h = berth_history_init(1000, 1) {
            history = h
            berth_el_set_history(el, h)
            if let file = historyFile { _ = berth_history_load(h, file) }
        }
        berth_el_setty(el, "-d", "-isig")
        berth_el_addfn(el, "berth-cancel", "Cancel the line", cancelCallback)
        berth_el_bind(el, "^C", "berth-cancel")
        berth_el_addfn(el, "berth-complete", "Complete the word", completeCallback)
        berth_el_bind(el, "^I", "berth-complete")
    }

    deinit {
        if let el = editLine { berth_el_end(el) }
        if let h = history { berth_history_end(h) }
        free(promptBuffer)
    }

    /// Whether fd 0 is a terminal.
    public static var standardInputIsTerminal: Bool { isatty(0) == 1 }

    /// `$BERTH_HISTORY`, else `~/.berth_history`, else nil.
    public static func defaultHistoryFile(environment: [String: String]) -> String? {
        if let file = environment["BERTH_HISTORY"], !file.isEmpty { return file }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.berth_history" }
        return nil
    }

    /// Reads one line.
    public func readLine() -> Input {
        guard let el = editLine else { return readPlainLine() }
        cancelled = false
        berth_el_resize(el)
        var count: Int32 = 0
        while true {
            errno = 0
            guard let raw = berth_el_gets(el, &count) else {
                if count < 0 && errno == EINTR { continue }
                berth_el_write("\n")  // leave the shell's prompt on a fresh line
                return .endOfInput
            }
            if cancelled { return .cancelled }
            var line = String(cString: raw)
            if line.hasSuffix("\n") { line.removeLast() }
            return .line(line)
        }
    }

    /// Adds a line to the history and saves the history file.
    public func addHistory(_ line: String) {
        guard let h = history, !line.allSatisfy({ $0 == " " || $0 == "\t" }) else { return }
        _ = berth_history_enter(h, line)
        if let file = historyFile, Self.mayRewrite(file) { _ = berth_history_save(h, file) }
    }

    /// libedit's save truncates the file and fchmods it 0600, so it is done
    /// only to a regular file or a new one: `BERTH_HISTORY=/dev/null` (or any
    /// device or FIFO) means "no history", and a device must not become
    /// 0600, which would lock every other user out of /dev/null.
    static func mayRewrite(_ file: String) -> Bool {
        var st = stat()
        if stat(file, &st) != 0 { return errno == ENOENT }
        return st.st_mode & S_IFMT == S_IFREG
    }

    // MARK: - Callbacks

    private func setPromptBuffer() {
        free(promptBuffer)
        promptBuffer = strdup(prompt)
    }

    fileprivate var promptPointer: UnsafeMutablePointer<CChar>? { promptBuffer }

    /// ^C: show `^C` at the end of the line, then end it with a pushed newline
    /// (ed-newline moves to a fresh row, which returning CC_NEWLINE would not).
    fileprivate func cancelLine(_ el: OpaquePointer) -> UInt8 {
        cancelled = true
        if let info = berth_el_line(el)?.pointee {
            let after = String(
                decoding: UnsafeRawBufferPointer(
                    start: info.cursor, count: info.lastchar - info.cursor), as: UTF8.self)
            _ = berth_el_cursor(el, Int32(after.unicodeScalars.count))
        }
        _ = berth_el_insertstr(el, "^C")
        berth_el_push(el, "\n")
        return UInt8(CC_REFRESH)
    }

    /// Tab: one candidate → the rest of it and a space; several → their
    /// common prefix, or the list below the line when nothing can be added.
    fileprivate func completeWord(_ el: OpaquePointer) -> UInt8 {
        guard let complete, let info = berth_el_line(el)?.pointee, let buffer = info.buffer else {
            return UInt8(CC_REFRESH_BEEP)
        }
        let beforeCount = info.cursor - buffer
        let before = Array(
            UnsafeBufferPointer(
                start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self),
                count: beforeCount))
        let result = complete(String(decoding: before, as: UTF8.self))
        guard !result.candidates.isEmpty else { return UInt8(CC_REFRESH_BEEP) }

        let typed = String(decoding: before[min(result.wordStart, before.count)...], as: UTF8.self)
        let quotePrefix = result.openQuote.map { String($0.rawValue) } ?? ""
        var replacement: String
        if result.candidates.count == 1 {
            let only = result.candidates[0]
            replacement = quotePrefix + Tokenizer.escape(only, inside: result.openQuote)
            if !only.hasSuffix("/") {
                replacement += quotePrefix + " "  // close the quote, then the space
            }
        } else {
            let prefix = result.commonPrefix
            if prefix == result.word || !prefix.hasPrefix(result.word) && prefix.count <= result.word.count {
                berth_el_write("\n" + Self.columns(result.displayNames, width: Int(berth_el_columns(el))))
                return UInt8(CC_REDISPLAY)
            }
            replacement = quotePrefix + Tokenizer.escape(prefix, inside: result.openQuote)
        }
        if replacement == typed { return UInt8(CC_REFRESH) }
        berth_el_deletestr(el, Int32(typed.unicodeScalars.count))
        _ = berth_el_insertstr(el, replacement)
        return UInt8(CC_REFRESH)
    }

    /// Lays out names in columns the way bash lists completions: sorted down
    /// each column, as many columns as fit in `width`. Ends with a newline.
    public static func columns(_ names: [String], width: Int) -> String {
        guard !names.isEmpty else { return "" }
        let cell = (names.map(\.count).max() ?? 0) + 2
        let perRow = max(1, width / cell)
        let rows = (names.count + perRow - 1) / perRow
        var out = ""
        for row in 0..<rows {
            var line = ""
            var column = 0
            while row + column * rows < names.count {
                let name = names[row + column * rows]
                column += 1
                let last = row + column * rows >= names.count
                line += last ? name : name + String(repeating: " ", count: cell - name.count)
            }
            out += line + "\n"
        }
        return out
    }

    // MARK: - Without a terminal

    private func readPlainLine() -> Input {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return .line(line)
            }
            if sawEOF {
                guard !pending.isEmpty else { return .endOfInput }
                let line = String(decoding: pending, as: UTF8.self)
                pending.removeAll()
                return .line(line)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(0, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { sawEOF = true; continue }
            pending += chunk[0..<n]
        }
    }
}

extension CompletionResult {
    /// What the list below the line shows: paths by their last component.
    public var displayNames: [String] {
        guard isPath else { return candidates }
        return candidates.map { path in
            let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
            guard let slash = trimmed.lastIndex(of: "/") else { return path }
            return String(path[path.index(after: slash)...])
        }
    }
}

private func editor(_ el: OpaquePointer?) -> LineEditor? {
    guard let el, let raw = berth_el_get_clientdata(el) else { return nil }
    return Unmanaged<LineEditor>.fromOpaque(raw).takeUnretainedValue()
}

private let promptCallback: @convention(c) (OpaquePointer?) -> UnsafeMutablePointer<CChar>? = { el in
    editor(el)?.promptPointer
}

private let cancelCallback: @convention(c) (OpaquePointer?, Int32) -> UInt8 = { el, _ in
    guard let el, let editor = editor(el) else { return UInt8(CC_ERROR) }
    return editor.cancelLine(el)
}

private let completeCallback: @convention(c) (OpaquePointer?, Int32) -> UInt8 = { el, _ in
    guard let el, let editor = editor(el) else { return UInt8(CC_ERROR) }
    return editor.completeWord(el)
}

internal import Foundation

/// How knowledge base text is split for SQLite's FTS5 `unicode61` tokenizer, which keeps a run of
/// Chinese characters as one word (so "信用卡年费" would match only itself). Runs of CJK characters are
/// indexed as their single characters and their adjacent pairs, the way CJK search engines do
/// bigrams; a query term of one character matches the characters, a longer one all its pairs.
/// Other text is left to `unicode61` (words, case and accents folded).
enum SearchText {
    /// The text as the index stores it.
    static func indexed(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count * 2)
        var run: [Character] = []
        func flush() {
            guard !run.isEmpty else { return }
            output += " " + run.map(String.init).joined(separator: " ")
            if run.count > 1 {
                for index in 0..<(run.count - 1) { output += " " + String(run[index]) + String(run[index + 1]) }
            }
            output += " "
            run.removeAll(keepingCapacity: true)
        }
        for character in text {
            if isCJK(character) {
                run.append(character)
            } else {
                flush()
                output.append(character)
            }
        }
        flush()
        return output
    }

    /// A query as an FTS5 MATCH expression in which every term must match; nil if the query has no
    /// searchable term. At most `maxTerms` terms are used.
    static func matchExpression(_ query: String, maxTerms: Int = 32) -> String? {
        var terms: [String] = []
        var word = ""
        var run: [Character] = []
        func flushWord() {
            if !word.isEmpty { terms.append(word) }
            word = ""
        }
        func flushRun() {
            if run.count == 1 {
                terms.append(String(run[0]))
            } else if run.count > 1 {
                for index in 0..<(run.count - 1) { terms.append(String(run[index]) + String(run[index + 1])) }
            }
            run.removeAll()
        }
        for character in query {
            if isCJK(character) {
                flushWord()
                run.append(character)
            } else if character.isLetter || character.isNumber {
                flushRun()
                word.append(character)
            } else {
                flushWord()
                flushRun()
            }
        }
        flushWord()
        flushRun()
        guard !terms.isEmpty else { return nil }
        // Quoted, so that FTS5 operators and column filters in the query are plain text.
        return terms.prefix(maxTerms).map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " AND ")
    }

    /// Han ideographs (with extensions and compatibility forms), kana and Hangul syllables.
    static func isCJK(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first else { return false }
        switch scalar.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x2FA1F: return true
        default: return false
        }
    }
}

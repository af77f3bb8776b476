internal import GRDB

/// How well a customer's names match a name as staff typed it: in characters, in pinyin with or
/// without spaces, as pinyin initials, or in Latin letters, possibly with mistakes.
///
/// Scores, best first:
/// - 100: a name as written (Chinese, Latin, legal) is the query;
/// - 95: the pinyin is the query's (typed in letters, or the same sound in other characters:
///   张珊 for 张山, 李雷 for 李蕾);
/// - 90: the pinyin initials are the query ("zs" for 张三);
/// - 80: a name, its pinyin or its initials start with the query (ranked name search only);
/// - below: names within ``NameVariants/maximumDistance`` edits, by the share of characters that
///   differ; a pinyin counts when at most one letter in four differs, at nine tenths of its share
///   (so that one wrong character of a two-character name is found when it sounds alike: 张山 ->
///   张三, "zhangshan" -> "zhangsan", but 李五 does not find 李四).
struct TypedName {
    /// The search key (``CustomerRecords/nameKey(_:)``).
    var key: String
    /// The pinyin of a query in Chinese characters; empty otherwise.
    var pinyin: String

    init(_ text: String) {
        key = CustomerRecords.nameKey(text)
        pinyin = Pinyin(of: key).full
    }

    /// The columns ``score(fuzzy:_:)`` reads.
    static let columns = "name_zh_key, name_latin_key, legal_name, name_pinyin_key, name_initials_key"

    static let exactScore: UInt32 = 100
    static let samePinyinScore: UInt32 = 95
    static let sameInitialsScore: UInt32 = 90
    static let prefixScore: UInt32 = 80
    /// Fuzzy matches of a ranked name search score at most this, below every prefix.
    static let rankedFuzzyCeiling: UInt32 = 70

    /// The score of a row of ``columns`` in a fuzzy search, or nil when it is too far.
    func score(fuzzy row: Row) -> UInt32? {
        let names = writtenNames(row)
        let rowPinyin: String = row["name_pinyin_key"]
        if names.contains(key) { return Self.exactScore }
        if !rowPinyin.isEmpty && (rowPinyin == key || rowPinyin == pinyin) { return Self.samePinyinScore }
        let target = Array(key.unicodeScalars)
        var best: (distance: Int, score: UInt32)?
        func consider(_ distance: Int, _ score: UInt32) {
            guard distance <= NameVariants.maximumDistance else { return }
            if best.map({ score > $0.score || (score == $0.score && distance < $0.distance) }) ?? true { best = (distance, score) }
        }
        for name in names {
            let scalars = Array(name.unicodeScalars)
            let distance = NameVariants.distance(target, scalars)
            consider(distance, NameVariants.score(distance: distance, target, scalars))
        }
        if !rowPinyin.isEmpty {
            let theirs = Array(rowPinyin.unicodeScalars)
            for typed in Set([key, pinyin]) where !typed.isEmpty {
                let ours = Array(typed.unicodeScalars)
                let distance = NameVariants.distance(ours, theirs)
                let share = NameVariants.score(distance: distance, ours, theirs)
                if share >= 75 { consider(distance, share * 9 / 10) }
            }
        }
        return best?.score
    }

    /// The score of a row of ``columns`` in a ranked name search, or nil when it does not match.
    func score(ranked row: Row) -> UInt32? {
        let fuzzy = score(fuzzy: row)
        if let fuzzy, fuzzy >= Self.samePinyinScore { return fuzzy }
        let initials: String = row["name_initials_key"]
        if !initials.isEmpty && initials == key { return Self.sameInitialsScore }
        let names = writtenNames(row) + ([row["name_pinyin_key"], initials] as [String]).filter { !$0.isEmpty }
        if names.contains(where: { $0.hasPrefix(key) }) { return Self.prefixScore }
        return fuzzy.map { $0 * Self.rankedFuzzyCeiling / 100 }
    }

    private func writtenNames(_ row: Row) -> [String] {
        ([row["name_zh_key"], row["name_latin_key"], CustomerRecords.nameKey(row["legal_name"])] as [String]).filter { !$0.isEmpty }
    }
}

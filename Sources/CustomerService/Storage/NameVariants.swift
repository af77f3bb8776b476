internal import GRDB

/// The index behind fuzzy name search: for each customer name (Chinese, Latin, legal), its search
/// key and every form of it with one character deleted, stored as 64-bit hashes.
///
/// Two names within one typing mistake of each other (a character missing, extra, wrong, or two
/// swapped) always share one of these forms, so a lookup of the query's forms finds them through
/// the primary key; the true distance is then computed on the candidates (symmetric-delete search).
/// It is derived data: rewritten whenever a customer's names change, never part of a merge image.
enum NameVariants {
    /// Names shorter than this get no deletion forms: a one-character form of a two-character name
    /// ("张伟" -> "张") would match a large share of all customers.
    static let minimumLengthForDeletions = 3
    /// Longer names (long legal names) are indexed by their key only.
    static let maximumLengthForDeletions = 32
    /// A fuzzy lookup reads at most this many candidates, so that a very common name costs a
    /// bounded amount of work.
    static let maximumCandidates = 500
    /// Candidates further than this from the query (in edits) are not returned.
    static let maximumDistance = 2

    /// The hashes to index for these names (search keys, see ``CustomerRecords/nameKey(_:)``).
    static func hashes(ofNames names: [String]) -> [Int64] {
        var result = Set<Int64>()
        for name in names where !name.isEmpty {
            result.formUnion(forms(of: Array(name.unicodeScalars)).map(hash))
        }
        return result.sorted()
    }

    /// The key itself and, for names of a suitable length, each one-deletion form.
    static func forms(of scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var forms = [scalars]
        if (minimumLengthForDeletions...maximumLengthForDeletions).contains(scalars.count) {
            for index in scalars.indices {
                var form = scalars
                form.remove(at: index)
                forms.append(form)
            }
        }
        return forms
    }

    /// FNV-1a over the UTF-8 bytes: stable across processes (Swift's `Hasher` is seeded per run).
    static func hash(_ scalars: [Unicode.Scalar]) -> Int64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for scalar in scalars {
            for byte in String(scalar).utf8 {
                value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
        }
        return Int64(bitPattern: value)
    }

    /// Rewrites a customer's rows in the index.
    static func replace(customerKey: Int64, names: [String], _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM customer_name_variant WHERE customer_key = ?").execute(arguments: [customerKey])
        let insert = try db.cachedStatement(sql: "INSERT INTO customer_name_variant (variant_hash, customer_key) VALUES (?, ?)")
        for hash in hashes(ofNames: names) {
            try insert.execute(arguments: [hash, customerKey])
        }
    }

    /// The hashes to look up for a query key: the key itself, and its one-deletion forms (any
    /// name within one edit shares one of them).
    static func hashes(near key: String) -> (exact: Int64, others: [Int64]) {
        let scalars = Array(key.unicodeScalars)
        let exact = hash(scalars)
        return (exact, Set(forms(of: scalars).map(hash)).subtracting([exact]).sorted())
    }

    /// Edits (insert, delete, substitute, swap two neighbours) between two keys: the optimal string
    /// alignment distance.
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], before[j - 2] + 1)
                }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    /// 100 for the same key, less by the share of characters that differ.
    static func score(distance: Int, _ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> UInt32 {
        let length = max(a.count, b.count, 1)
        return UInt32(max(0, (100 * (length - distance)) / length))
    }
}

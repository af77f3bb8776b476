extension String {
    /// The longest prefix of `self` whose UTF-8 form is at most `maxBytes`, cut between characters'
    /// code points so that the result is still valid UTF-8.
    func truncatedUTF8(maxBytes: Int) -> Substring {
        let utf8 = self.utf8
        guard utf8.count > maxBytes else { return self[...] }
        var end = utf8.index(utf8.startIndex, offsetBy: maxBytes)
        // Step back over continuation bytes (10xxxxxx) to the start of a code point.
        while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 {
            end = utf8.index(before: end)
        }
        return self[..<end]
    }
}

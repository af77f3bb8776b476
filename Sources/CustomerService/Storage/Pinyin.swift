internal import Foundation

/// The pinyin search keys of a Chinese name: the full reading without spaces or tones ("张三" ->
/// "zhangsan", "欧阳修" -> "ouyangxiu") and the first letter of each syllable ("zs", "oyx"). Staff
/// type these far more often than the characters.
///
/// The reading is ICU's "Han-Latin/Names" transform, which reads a name's first characters as a
/// surname (单 shan, 曾 zeng, 解 xie, 仇 qiu, 区 ou, 欧阳 ou yang, 尉迟 yu chi), then "Latin-ASCII"
/// and "Lower", through Foundation (which carries its own ICU). It comes out as syllables separated
/// by spaces: "ou yang xiu".
public struct Pinyin: Equatable, Sendable {
    public var full = ""
    public var initials = ""

    private static let transform = StringTransform("Han-Latin/Names; Latin-ASCII; Lower")

    /// The keys of `name`, or empty keys when it holds no Chinese character.
    public init(of name: String) {
        guard name.unicodeScalars.contains(where: \.properties.isIdeographic),
            let reading = name.applyingTransform(Self.transform, reverse: false)
        else { return }
        // Syllables are the runs of ASCII letters and digits: the transform separates them by spaces
        // and leaves other marks (the middle dot of 阿依古丽·买买提) and characters it has no reading
        // for in place.
        let syllables = reading.unicodeScalars.split { !(("a"..."z").contains($0) || ("0"..."9").contains($0)) }
        full = syllables.map { String(String.UnicodeScalarView($0)) }.joined()
        initials = String(String.UnicodeScalarView(syllables.compactMap(\.first)))
    }

    init() {}
}

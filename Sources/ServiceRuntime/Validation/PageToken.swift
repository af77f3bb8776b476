internal import Foundation

/// An opaque page token: the last key of the page, base64url-encoded with a version tag, so that
/// callers do not build tokens of their own and the format can change.
public enum PageToken {
    public static func token(afterKey key: Int64) -> String {
        Data("v1:\(key)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func key(from token: String) -> Int64? {
        guard token.utf8.count <= 64 else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8), text.hasPrefix("v1:"),
            let key = Int64(text.dropFirst(3)), key >= 0
        else { return nil }
        return key
    }
}

import Foundation

/// An Internet message (RFC 5322 with MIME): a plain-text UTF-8 body in Base64, an optional attachment, Chinese
/// headers as RFC 2047 encoded words. `rendered()` gives the DATA section, dot-stuffed and ending with the final dot.
struct MailMessage {
    /// The sender's display name.
    var fromName: String
    var from: String
    var to: [String]
    var subject: String
    var body: String
    var attachment: (name: String, data: Data)?
    var messageID: String
    var date: Date

    func rendered() -> String {
        var headers = [
            "From: \(Self.encodedWords(fromName)) <\(from)>", "To: " + to.joined(separator: ", "),
            "Subject: " + Self.encodedWords(subject), "Date: " + Self.rfc5322Date(date), "Message-ID: \(messageID)", "MIME-Version: 1.0",
        ]
        // Text in MIME's canonical form: every line ends in CRLF, also inside the Base64 (RFC 2045 § 6.8).
        let canonical = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        let text = [
            "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: base64", "", Self.base64Lines(Data(canonical.utf8)),
        ]
        var lines: [String]
        if let attachment {
            let boundary = "=_energyd_" + messageID.filter { $0.isLetter || $0.isNumber }
            headers.append("Content-Type: multipart/mixed; boundary=\"\(boundary)\"")
            let name = attachment.name.addingPercentEncoding(
                withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".-_")))!
            lines =
                headers + ["", "--" + boundary] + text + [
                    "--" + boundary,
                    // RFC 2231 parameters: an RFC 2047 word inside a quoted string is not decoded by conforming readers.
                    "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name*=UTF-8''\(name)",
                    "Content-Transfer-Encoding: base64",
                    "Content-Disposition: attachment; filename*=UTF-8''\(name)", "", Self.base64Lines(attachment.data),
                    "--" + boundary + "--",
                ]
        } else {
            lines = headers + text
        }
        // Dot-stuffing: a line starting with "." gets another, so that no line ends the message early.
        let stuffed = lines.joined(separator: "\r\n").components(separatedBy: "\r\n").map { $0.hasPrefix(".") ? "." + $0 : $0 }
        return stuffed.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    /// Base64 in lines of 76 characters.
    static func base64Lines(_ data: Data) -> String {
        data.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    }

    static func encodedWord(_ text: String) -> String { "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?=" }

    /// A header text as encoded words of at most 75 characters each, split between characters, folded onto lines.
    static func encodedWords(_ text: String) -> String {
        guard text.contains(where: { !$0.isASCII }) else { return text }
        var words: [String] = []
        var chunk = ""
        for character in text {
            // 45 bytes of UTF-8 make 60 characters of Base64, within the 75 an encoded word may have.
            if chunk.utf8.count + String(character).utf8.count > 45 {
                words.append(encodedWord(chunk))
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(encodedWord(chunk)) }
        return words.joined(separator: "\r\n ")
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}

import Foundation

/// Where the inspection team's handling of an alert stands (处置状态), beside whether its condition still holds.
public enum AlertHandling: String, Sendable, Hashable, CaseIterable, Codable {
    case new, acknowledged, assigned, closed

    /// Chinese name.
    public var chinese: String {
        switch self {
        case .new: "待处理"
        case .acknowledged: "已确认"
        case .assigned: "已指派"
        case .closed: "已办结"
        }
    }
}

/// What someone does about an alert.
public enum AlertAction: String, Sendable, Hashable, CaseIterable, Codable {
    /// An inspector has seen it (确认).
    case acknowledge
    /// An inspector hands it to an inspector (指派).
    case assign
    /// A note in its history (备注).
    case comment
    /// The enterprise's answer: what it did or will do (整改说明).
    case answer
    /// An inspector closes it with the disposition (处置结果).
    case close

    /// Chinese name.
    public var chinese: String {
        switch self {
        case .acknowledge: "确认"
        case .assign: "指派"
        case .comment: "备注"
        case .answer: "整改说明"
        case .close: "办结"
        }
    }

    /// Why an action is refused, in words for the person who tried it.
    public struct Refusal: Error, Sendable, CustomStringConvertible, Equatable {
        public var description: String
        /// Whether the role may never do it (403), rather than the alert or the input being wrong for it (400).
        public var forbidden: Bool
    }

    /// The handling after `self` by an account of `role` on an alert now `handling`, with `text` and `assignee` as
    /// given; or why it is refused. Inspectors and admins acknowledge, assign, comment and close (with the
    /// disposition as text); an enterprise answers its own alerts (the caller checks it is its own); towns only
    /// read. A closed alert takes nothing more.
    public func applied(by role: Role, to handling: AlertHandling, text: String, assignee: String?) throws -> AlertHandling {
        let team = role == .inspector || role == .admin
        guard self == .answer ? role == .enterprise : team else {
            throw Refusal(description: "\(role.rawValue) accounts may not \(rawValue) alerts", forbidden: true)
        }
        guard handling != .closed else { throw Refusal(description: "the alert is closed", forbidden: false) }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= Self.longestText else {
            throw Refusal(description: "the text is longer than \(Self.longestText) characters", forbidden: false)
        }
        switch self {
        case .acknowledge:
            guard handling == .new else { throw Refusal(description: "the alert is already \(handling.rawValue)", forbidden: false) }
            return .acknowledged
        case .assign:
            guard let assignee, !assignee.isEmpty else { throw Refusal(description: "assign needs an assignee", forbidden: false) }
            return .assigned
        case .comment, .answer:
            guard !trimmed.isEmpty else { throw Refusal(description: "\(rawValue) needs a text", forbidden: false) }
            return handling
        case .close:
            guard !trimmed.isEmpty else { throw Refusal(description: "close needs the disposition as text", forbidden: false) }
            return .closed
        }
    }

    /// The longest text an action takes, in characters.
    public static let longestText = 2000
}

import Foundation
import Testing

@testable import EnergyModel

/// Who may do what to an alert in which state (AlertAction.applied), case by case.
struct AlertHandlingRuleTests {
    /// (action, role, handling before, text, assignee) → handling after, or the refusal's words and whether the role is
    /// never allowed.
    static let cases: [(AlertAction, Role, AlertHandling, String, String?, Result<AlertHandling, AlertAction.Refusal>)] = [
        (.acknowledge, .inspector, .new, "", nil, .success(.acknowledged)),
        (.acknowledge, .admin, .new, "", nil, .success(.acknowledged)),
        (
            .acknowledge, .inspector, .acknowledged, "", nil,
            .failure(.init(description: "the alert is already acknowledged", forbidden: false))
        ),
        (
            .acknowledge, .jurisdiction, .new, "", nil,
            .failure(.init(description: "jurisdiction accounts may not acknowledge alerts", forbidden: true))
        ),
        (
            .acknowledge, .enterprise, .new, "", nil,
            .failure(.init(description: "enterprise accounts may not acknowledge alerts", forbidden: true))
        ),
        (.assign, .inspector, .new, "", "zhang", .success(.assigned)),
        (.assign, .inspector, .assigned, "", "li", .success(.assigned)),
        (.assign, .inspector, .acknowledged, "", nil, .failure(.init(description: "assign needs an assignee", forbidden: false))),
        (.comment, .inspector, .assigned, "电话已通知", nil, .success(.assigned)),
        (.comment, .inspector, .new, " ", nil, .failure(.init(description: "comment needs a text", forbidden: false))),
        (.answer, .enterprise, .assigned, "已整改", nil, .success(.assigned)),
        (
            .answer, .inspector, .assigned, "已整改", nil,
            .failure(.init(description: "inspector accounts may not answer alerts", forbidden: true))
        ),
        (.close, .inspector, .assigned, "复查合格", nil, .success(.closed)),
        (.close, .inspector, .new, "", nil, .failure(.init(description: "close needs the disposition as text", forbidden: false))),
        (
            .close, .enterprise, .assigned, "自行办结", nil,
            .failure(.init(description: "enterprise accounts may not close alerts", forbidden: true))
        ),
        (.comment, .inspector, .closed, "再看看", nil, .failure(.init(description: "the alert is closed", forbidden: false))),
        (.answer, .enterprise, .closed, "补充", nil, .failure(.init(description: "the alert is closed", forbidden: false))),
        (
            .comment, .inspector, .new, String(repeating: "字", count: AlertAction.longestText + 1), nil,
            .failure(.init(description: "the text is longer than 2000 characters", forbidden: false))
        ),
    ]

    @Test func eachRoleMayDoWhatItIsFor() {
        for (action, role, before, text, assignee, expected) in Self.cases {
            let outcome = Result { () throws(AlertAction.Refusal) -> AlertHandling in
                do { return try action.applied(by: role, to: before, text: text, assignee: assignee) } catch let refusal
                    as AlertAction.Refusal
                {
                    throw refusal
                } catch { throw AlertAction.Refusal(description: "\(error)", forbidden: false) }
            }
            #expect(outcome == expected, "\(action) by \(role) on \(before)")
        }
    }

    @Test func handlingNamesEncodeAsTheirRawValues() throws {
        for handling in AlertHandling.allCases {
            #expect(String(decoding: try JSONEncoder().encode([handling]), as: UTF8.self) == "[\"\(handling.rawValue)\"]")
        }
    }
}

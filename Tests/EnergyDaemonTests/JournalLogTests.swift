import Foundation
import Logging
import Testing

@testable import EnergyDaemon

/// energyd's log lines as the journal and as people read them (deploy/test-package.sh checks them in a real journal).
@Suite struct JournalLogTests {
    @Test func forTheJournalALineStartsWithItsPriorityAndCarriesNoTimestamp() {
        let journal = JournalLogHandler(label: "energyd", toJournal: true)
        #expect(
            journal.line(level: .error, metadata: ["gateway": "gw1", "attempts": "3"], source: "ModbusPolling", message: "lost")
                == "<3>energyd: attempts=3 gateway=gw1 [ModbusPolling] lost")
        let priorities: [(Logger.Level, Int)] = [
            (.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ]
        for (level, priority) in priorities { #expect(JournalLogHandler.priority(level) == priority, "\(level)") }
    }

    @Test func forPeopleALineStartsWithItsTimeAndLevel() {
        let line = JournalLogHandler(label: "energyd", toJournal: false).line(level: .info, metadata: [:], source: "X", message: "ready")
        #expect(
            line.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4} info energyd: \[X\] ready$"#, options: .regularExpression)
                != nil, "\(line)")
    }
}

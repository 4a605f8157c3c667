import ArgumentParser
import EnergyModel
import EnergyStore
import Foundation

struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Messages to people (alerts, digests, monthly reports): what waits, what was delivered, what was given up.",
        subcommands: [List.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Messages, newest first, with their state, attempts and last error.")

        @OptionGroup var store: StoreOptions

        @Option(help: "Only this state: pending, held, delivered, dead or merged (repeatable).")
        var state: [String] = []

        @Option(help: "Only this channel.")
        var channel: String?

        @Option(help: "At most this many messages.")
        var limit = 100

        @Option(help: "table, csv or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let states = try Set(
                state.map { name in
                    guard let state = OutboxMessage.State(rawValue: name) else {
                        throw ValidationError("--state \(name) is not one of pending, held, delivered, dead, merged")
                    }
                    return state
                })
            let (path, zone) = try store.resolve()
            let energyStore = try await EnergyStore.open(path: path, readOnly: true)
            let messages = try await energyStore.outbox.messages(states: states, channel: channel, limit: limit)
            func time(_ ms: Int64?) -> String { ms.map { ISO8601Time.formatLocal(ms: $0, timeZone: zone) } ?? "-" }
            var table = TextTable(
                header: ["id", "channel", "kind", "alert", "state", "attempts", "queued", "next_attempt", "delivered", "last_error"],
                rightAligned: [0, 3, 5])
            var objects: [[String: Any]] = []
            for message in messages {
                let waiting = message.state == .pending || message.state == .held
                objects.append([
                    "id": message.id, "channel": message.channel, "kind": message.kind.rawValue, "alert": jsonValue(message.alertID),
                    "state": message.state.rawValue, "attempts": message.attempts, "queued": jsonTime(message.createdAtMs, zone),
                    "next_attempt": waiting ? jsonTime(message.nextAttemptAtMs, zone) : NSNull(),
                    "delivered": jsonTime(message.deliveredAtMs, zone), "last_error": jsonValue(message.lastError),
                ])
                table.rows.append([
                    String(message.id), message.channel, message.kind.rawValue, message.alertID.map(String.init) ?? "-",
                    message.state.rawValue, String(message.attempts), time(message.createdAtMs),
                    message.state == .pending || message.state == .held ? time(message.nextAttemptAtMs) : "-", time(message.deliveredAtMs),
                    message.lastError ?? "",
                ])
            }
            try printRows(format, table, json: objects)
            if format == .table {
                let backlog = try await energyStore.outbox.backlog()
                for line in backlog where line.state == .pending || line.state == .dead || line.state == .held {
                    print("\(line.channel): \(line.count) \(line.state.rawValue), oldest queued \(time(line.oldestCreatedAtMs))")
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sends given-up (dead) messages again, from now on with a new give-up age; energyd picks them up within a second.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "Message ids (energyctl outbox list --state dead).")
        var ids: [Int64] = []

        @Flag(help: "Every dead message.")
        var allDead = false

        func validate() throws {
            if ids.isEmpty == !allDead { throw ValidationError("give message ids or --all-dead") }
        }

        func run() async throws {
            let (path, _) = try store.resolve()
            let revived = try await EnergyStore.open(path: path).outbox.retryDead(ids: ids, nowMs: SystemWallClock().nowMs())
            print("\(revived) message(s) queued again")
            if revived < ids.count { throw ExitCode(1) }
        }
    }
}

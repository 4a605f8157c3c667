import EnergyStore
import Foundation
import Logging
import Synchronization

extension Daemon {
    /// After the store guard stopped the group because the database file was deleted or replaced: everything
    /// committed is still in the open file, so it is copied back to where it belongs and energyd exits for systemd
    /// to restart it on it. Does nothing when the file was not lost.
    func recoverLostDatabase() throws {
        guard databaseLost.load(ordering: .relaxed) else { return }
        let target: String
        do {
            target = try store.restoreToItsPath()
        } catch {
            logger.critical("cannot save the database whose file was deleted", metadata: ["error": "\(error)"])
            throw DaemonRunError.databaseLost(underlying: error)
        }
        logger.critical("database saved after its file was deleted or replaced; restarting", metadata: ["saved_to": "\(target)"])
        throw DaemonRunError.databaseRestored(path: target)
    }
}

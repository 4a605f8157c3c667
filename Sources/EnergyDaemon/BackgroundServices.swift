import AlertDelivery
import ServiceLifecycle
import Upstream

/// Runs the outbox's sender until shutdown; a message in flight then is sent again at the next start.
struct DeliveryService: Service {
    let sender: OutboxSender

    func run() async throws {
        await cancelWhenGracefulShutdown { await sender.run() }
    }
}

/// Ships figures upstream until shutdown; a round in flight then is shipped again at the next start.
struct UpstreamService: Service {
    let shipper: UpstreamShipper

    func run() async throws {
        await cancelWhenGracefulShutdown { await shipper.run() }
        // With no destination there is nothing to run; a service that returned early would stop the whole group.
        try? await gracefulShutdown()
    }
}

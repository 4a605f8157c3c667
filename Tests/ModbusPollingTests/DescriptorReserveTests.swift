import CModbus
import EnergyModel
import Foundation
import MeterSimulator
import TestSupport
import Testing

@testable import ModbusPolling

@Suite struct DescriptorReserveTests {
    @Test func aSocketAbove1023IsMovedOntoAReservedDescriptorAndStillWorks() async throws {
        let clock = ManualClock(startMs: 1_767_196_800_000)
        let harness = try await SimulatorHarness.start(TestScenarios.grid(gateways: 1, metersPerGateway: 1), clock: clock)
        defer { Task { await harness.stop() } }
        let reserve = DescriptorReserve()
        #expect(reserve.reserve(1) == 1)
        // A real socket, given a number select() cannot watch.
        let original = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let high = fcntl(original, F_DUPFD_CLOEXEC, 1100)
        close(original)
        #expect(high >= 1100)
        let low = try #require(reserve.watchable(high))
        #expect(low < FD_SETSIZE && reserve.available == 0)
        #expect(fcntl(high, F_GETFD) == -1, "the high descriptor is closed")
        // Connected and read through libmodbus on the low number.
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(harness.server.ports["gw0"]!).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(low, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let context = try #require(modbus_new_tcp("127.0.0.1", 0))
        defer { modbus_free(context) }
        modbus_set_socket(context, low)
        modbus_set_slave(context, 1)
        var words = [UInt16](repeating: 0, count: 2)
        #expect(modbus_read_registers(context, 0x401E, 2, &words) == 2)
        // Closing hands the number back to the reserve, held on /dev/null again.
        reserve.close(low)
        #expect(reserve.available == 1)
        #expect(fcntl(low, F_GETFD) >= 0)
        // A socket that already has a low number is left alone.
        let ordinary = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(reserve.watchable(ordinary) == ordinary)
        reserve.close(ordinary)
        #expect(reserve.available == 1)
    }
}

import CModbus
import Foundation

/// A plain libmodbus client for checking what metersim serves, independent of energyd's poller.
final class LibmodbusClient {
    private let context: OpaquePointer

    init(port: Int, unit: Int32 = 1, timeoutMs: UInt32 = 1000) throws {
        guard let context = modbus_new_tcp("127.0.0.1", Int32(port)) else { throw ClientError(code: errno) }
        self.context = context
        modbus_set_response_timeout(context, timeoutMs / 1000, timeoutMs % 1000 * 1000)
        modbus_set_slave(context, unit)
        // A class whose init throws after every property is set still runs deinit, which frees the context.
        guard modbus_connect(context) == 0 else { throw ClientError(code: errno) }
    }

    deinit {
        modbus_close(context)
        modbus_free(context)
    }

    func setUnit(_ unit: Int32) { modbus_set_slave(context, unit) }

    /// Reads with function 3 (or 4 when `input`).
    func read(_ address: Int32, _ count: Int32, input: Bool = false) throws(ClientError) -> [UInt16] {
        var words = [UInt16](repeating: 0, count: Int(count))
        let result =
            input ? modbus_read_input_registers(context, address, count, &words) : modbus_read_registers(context, address, count, &words)
        guard result == count else { throw ClientError(code: errno) }
        return words
    }

    /// Reads coils (function 1), which metersim must refuse.
    func readCoils(_ address: Int32, _ count: Int32) throws(ClientError) {
        var bits = [UInt8](repeating: 0, count: Int(count))
        guard modbus_read_bits(context, address, count, &bits) == count else { throw ClientError(code: errno) }
    }

    /// Writes a register (function 6), which metersim must refuse.
    func writeRegister(_ address: Int32, _ value: UInt16) throws(ClientError) {
        guard modbus_write_register(context, address, value) == 1 else { throw ClientError(code: errno) }
    }
}

/// A libmodbus errno.
struct ClientError: Error, Equatable, CustomStringConvertible {
    let code: Int32
    /// The Modbus exception code, when the error is one.
    var exception: Int32? {
        let value = code - Int32(MODBUS_ENOBASE)
        return (1...11).contains(value) ? value : nil
    }
    var description: String { String(cString: modbus_strerror(code)) + " (\(code))" }
}

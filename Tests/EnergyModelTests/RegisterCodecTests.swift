import Testing

@testable import EnergyModel

/// Golden cases: each value's big-endian bytes (A B C D …) laid out in the four word orders by hand.
/// 123.456 as IEEE-754 single is 0x42F6E979; 1234.5678 as double is 0x40934A456D5CFAAD;
/// -123456789 as int32 is 0xF8A432EB.
struct GoldenCase: Sendable, CustomTestStringConvertible {
    let type: RegisterType
    let value: Double
    let words: [WordOrder: [UInt16]]
    var testDescription: String { type.rawValue }
}

let goldenCases: [GoldenCase] = [
    GoldenCase(type: .u16, value: 0x1234, words: [.abcd: [0x1234], .cdab: [0x1234], .badc: [0x3412], .dcba: [0x3412]]),
    GoldenCase(type: .i16, value: -2, words: [.abcd: [0xFFFE], .cdab: [0xFFFE], .badc: [0xFEFF], .dcba: [0xFEFF]]),
    GoldenCase(
        type: .u32, value: 305_419_896,
        words: [.abcd: [0x1234, 0x5678], .cdab: [0x5678, 0x1234], .badc: [0x3412, 0x7856], .dcba: [0x7856, 0x3412]]),
    GoldenCase(
        type: .i32, value: -123_456_789,
        words: [.abcd: [0xF8A4, 0x32EB], .cdab: [0x32EB, 0xF8A4], .badc: [0xA4F8, 0xEB32], .dcba: [0xEB32, 0xA4F8]]),
    GoldenCase(
        // Above 2^53 a Double keeps 53 bits: the value is chosen to be exact.
        type: .u64, value: Double(0x0102_0304_0506_0700 as UInt64),
        words: [
            .abcd: [0x0102, 0x0304, 0x0506, 0x0700], .cdab: [0x0700, 0x0506, 0x0304, 0x0102],
            .badc: [0x0201, 0x0403, 0x0605, 0x0007], .dcba: [0x0007, 0x0605, 0x0403, 0x0201],
        ]),
    GoldenCase(
        type: .i64, value: -2,
        words: [
            .abcd: [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE], .cdab: [0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF],
            .badc: [0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF], .dcba: [0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF],
        ]),
    GoldenCase(
        type: .f32, value: Double(Float(123.456)),
        words: [.abcd: [0x42F6, 0xE979], .cdab: [0xE979, 0x42F6], .badc: [0xF642, 0x79E9], .dcba: [0x79E9, 0xF642]]),
    GoldenCase(
        type: .f64, value: 1234.5678,
        words: [
            .abcd: [0x4093, 0x4A45, 0x6D5C, 0xFAAD], .cdab: [0xFAAD, 0x6D5C, 0x4A45, 0x4093],
            .badc: [0x9340, 0x454A, 0x5C6D, 0xADFA], .dcba: [0xADFA, 0x5C6D, 0x454A, 0x9340],
        ]),
]

@Suite struct RegisterCodecTests {
    @Test(arguments: goldenCases, WordOrder.allCases)
    func decodesGoldenWords(_ golden: GoldenCase, _ order: WordOrder) {
        #expect(RegisterCodec.decode(golden.words[order]!, as: golden.type, order: order) == golden.value)
    }

    @Test(arguments: goldenCases, WordOrder.allCases)
    func encodesGoldenWords(_ golden: GoldenCase, _ order: WordOrder) {
        #expect(RegisterCodec.encode(golden.value, as: golden.type, order: order) == golden.words[order]!)
    }

    @Test func scalesAndChecksRange() {
        let point = RegisterPoint(
            name: "e", quantity: .consumption, unit: "kWh", function: .holding, address: 62, type: .i32, scale: 0.01,
            kind: .counter, minimum: 0)
        // 12345678 × 0.01 = 123456.78 kWh
        #expect(point.engineeringValue(fromWords: [0x00BC, 0x614E]) == 123_456.78)
        #expect(point.engineeringValue(fromWords: [0xFFFF, 0xFFFE]) == nil, "−0.02 is below the minimum")
        #expect(point.words(forEngineeringValue: 123_456.78) == [0x00BC, 0x614E])
    }

    @Test func nonFiniteFloatIsNotAValue() {
        let point = RegisterPoint(name: "p", quantity: .power, unit: "kW", function: .holding, address: 0, type: .f32, kind: .gauge)
        #expect(point.engineeringValue(fromWords: [0x7FC0, 0x0000]) == nil, "NaN")
        #expect(point.engineeringValue(fromWords: [0x7F80, 0x0000]) == nil, "+inf")
    }

    @Test func counterWrapDefaultsToRegisterWidth() {
        let u32 = RegisterPoint(
            name: "e", quantity: .consumption, unit: "kWh", function: .holding, address: 0, type: .u32, scale: 0.1, kind: .counter)
        #expect(u32.effectiveWrap == 429_496_729.6)
        let float = RegisterPoint(
            name: "e", quantity: .consumption, unit: "kWh", function: .holding, address: 0, type: .f32, kind: .counter)
        #expect(float.effectiveWrap == nil)
        var display = float
        display.wrap = 99_999_999.99
        #expect(display.effectiveWrap == 99_999_999.99)
    }
}

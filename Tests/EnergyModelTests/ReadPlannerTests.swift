import ConfigurationFiles
import TestSupport
import Testing

@testable import EnergyModel

@Suite struct ReadPlannerTests {
    func point(_ name: String, _ address: Int, _ type: RegisterType = .u32, function: RegisterFunction = .holding) -> RegisterPoint {
        RegisterPoint(name: name, quantity: .other, unit: "-", function: function, address: address, type: type, kind: .gauge)
    }

    @Test func mergesAdjacentPoints() {
        let points = [point("a", 0), point("b", 2), point("c", 4, .u16)]
        let plan = ReadPlanner.plan(points: points, gateway: GatewayConfig(id: "g", host: "h"))
        #expect(plan == [ReadRequest(function: .holding, address: 0, count: 5, pointIndices: [0, 1, 2])])
    }

    @Test func bridgesGapsUpToTheLimitOnly() {
        let points = [point("a", 0), point("b", 12), point("c", 40)]
        let gateway = GatewayConfig(id: "g", host: "h", maxGapRegisters: 10)
        let plan = ReadPlanner.plan(points: points, gateway: gateway)
        #expect(plan.map(\.address) == [0, 40])
        #expect(plan[0].count == 14, "0…1 and 12…13 with a 10-register gap")
        #expect(plan[0].pointIndices == [0, 1])
    }

    @Test func respectsMaxRegistersPerRequest() {
        let points = (0..<10).map { point("p\($0)", $0 * 2) }
        let gateway = GatewayConfig(id: "g", host: "h", maxRegistersPerRequest: 8)
        let plan = ReadPlanner.plan(points: points, gateway: gateway)
        #expect(plan.map(\.count) == [8, 8, 4])
        #expect(plan.flatMap(\.pointIndices) == Array(0..<10))
        #expect(plan.allSatisfy { $0.count <= 8 })
    }

    @Test func neverMergesAcrossFunctions() {
        let points = [point("h", 0), point("i", 2, function: .input), point("h2", 2)]
        let plan = ReadPlanner.plan(points: points, gateway: GatewayConfig(id: "g", host: "h"))
        #expect(plan.count == 2)
        #expect(plan[0] == ReadRequest(function: .holding, address: 0, count: 4, pointIndices: [0, 2]))
        #expect(plan[1] == ReadRequest(function: .input, address: 2, count: 2, pointIndices: [1]))
    }

    @Test func onePerPointWhenTheGatewayAsks() {
        let points = [point("a", 0), point("b", 2)]
        let plan = ReadPlanner.plan(points: points, gateway: GatewayConfig(id: "g", host: "h", oneRequestPerPoint: true))
        #expect(plan.count == 2)
    }

    @Test func shippedDTSU666MapIsTwoBlocks() throws {
        let configuration = try ConfigurationLoader.load(path: shippedConfigPath)
        let model = try #require(configuration.models["chint_dtsu666"])
        let plan = ReadPlanner.plan(points: model.points, gateway: GatewayConfig(id: "g", host: "h"))
        // 0x401E and 0x4028 are 10 registers apart: one block; 0x2006 and 0x2012 are 12 apart: one block.
        #expect(plan.map(\.address) == [0x2006, 0x401E])
        #expect(plan.map(\.count) == [14, 12])
    }
}

import Foundation
import Support

/// Training data of the deep conjugate direction method: right-hand sides b of pressure
/// Poisson systems on `geometries` training scenes (`CellDomain.randomObstacles` with seeds
/// `sceneSeed + g`, open top), each a mixture of Ritz vectors of its scene's matrix
/// (`Lanczos.run` from A·randn with full reorthogonalization, `lanczosSteps` steps;
/// `Lanczos.mixedRightHandSides`: N(0, 1) coefficients, ×`lowWeight` on the lowest
/// `emphasized` fraction — the paper's 9 and 0.55), normalized to unit norm. Sample i uses
/// scene i mod `geometries`; stored per sample: `rhs` (on the cells, 0 off the fluid) and
/// `cells` (the `CellType` raw values), both with shape counts reversed ([ny, nx] or
/// [nz, ny, nx]); once, `faces` (1 for an open face, 0 for a closed one).
///
/// The Lanczos decomposition of a scene is computed once per process, on first use, and
/// kept (m × n doubles per scene).
public final class DCDMFamily: DatasetFamily, @unchecked Sendable {
    public let counts: [Int]
    public let geometries: Int
    public let boxes: Int, balls: Int
    public let sceneSeed: UInt64
    public let lanczosSteps: Int
    public let lowWeight: Double
    public let emphasized: Double

    private let lock = NSLock()
    private var ritz: [Int: (system: PressurePoissonSystem, values: [Double], vectors: [Double])] = [:]

    /// Throws `PDEError.invalidValue` (keys `dcdm.<name>`) for out-of-range settings.
    public init(counts: [Int], geometries: Int = 8, boxes: Int = 3, balls: Int = 2, sceneSeed: UInt64 = 1,
                lanczosSteps: Int = 500, lowWeight: Double = 9, emphasized: Double = 0.55) throws {
        guard (2...3).contains(counts.count), counts.allSatisfy({ $0 >= 8 && $0 % 2 == 0 && $0 <= 1024 }) else {
            throw PDEError.invalidValue(key: "dcdm.size", value: "\(counts)", expected: "2 or 3 even cell counts from 8 to 1024")
        }
        guard (1...10_000).contains(geometries) else {
            throw PDEError.invalidValue(key: "dcdm.geometries", value: "\(geometries)", expected: "1 to 10000 training scenes")
        }
        guard (0...100).contains(boxes), (0...100).contains(balls) else {
            throw PDEError.invalidValue(key: "dcdm.boxes", value: "\(boxes) boxes, \(balls) balls", expected: "0 to 100 obstacles of each kind")
        }
        guard lanczosSteps >= 2 else {
            throw PDEError.invalidValue(key: "dcdm.lanczos_steps", value: "\(lanczosSteps)", expected: "at least 2 Lanczos steps")
        }
        guard lowWeight > 0, lowWeight.isFinite else {
            throw PDEError.invalidValue(key: "dcdm.low_weight", value: "\(lowWeight)", expected: "a positive weight")
        }
        guard (0...1).contains(emphasized) else {
            throw PDEError.invalidValue(key: "dcdm.emphasized", value: "\(emphasized)", expected: "a fraction of the Ritz vectors in [0, 1]")
        }
        self.counts = counts
        self.geometries = geometries
        self.boxes = boxes
        self.balls = balls
        self.sceneSeed = sceneSeed
        self.lanczosSteps = lanczosSteps
        self.lowWeight = lowWeight
        self.emphasized = emphasized
    }

    public var name: String { "dcdm" }

    public var fields: [(name: String, shape: [Int])] { [("rhs", counts.reversed()), ("cells", counts.reversed())] }

    public var parameters: [String: HDF5Attribute] {
        ["counts": .ints(counts.map { Int64($0) }), "geometries": .int(Int64(geometries)), "boxes": .int(Int64(boxes)), "balls": .int(Int64(balls)),
         "scene_seed": .int(Int64(sceneSeed)), "lanczos_steps": .int(Int64(lanczosSteps)), "low_weight": .double(lowWeight),
         "emphasized": .double(emphasized),
         "scenes": .string("CellDomain.randomObstacles(counts, boxes, balls, seed: scene_seed + g), open top; sample i on scene i mod geometries"),
         "rhs": .string("unit-norm mixtures of Ritz vectors (Lanczos from A randn, full reorthogonalization), N(0,1) coefficients x low_weight on the lowest emphasized fraction")]
    }

    /// `faces`: the face kinds of every scene (x−, x+, y−, y+[, z−, z+]; 1 open, 0 closed).
    public var fixedDatasets: [(name: String, shape: [Int], values: [Double])] {
        [("faces", [2 * counts.count], (0..<(2 * counts.count)).map { $0 == 2 * counts.count - 1 ? 1 : 0 })]
    }

    /// The training scene g (open top, random obstacles).
    public func scene(_ g: Int) throws -> CellDomain {
        try CellDomain.randomObstacles(counts: counts, boxes: boxes, balls: balls, seed: sceneSeed &+ UInt64(g))
    }

    /// Scene g's system and Ritz pairs (computed once).
    func ritzPairs(_ g: Int) throws -> (system: PressurePoissonSystem, values: [Double], vectors: [Double]) {
        lock.lock()
        defer { lock.unlock() }
        if let r = ritz[g] { return r }
        let system = try PressurePoissonSystem(scene(g))
        let n = system.unknownCount
        var start = [Double](repeating: 0, count: n)
        var gen = SeededGenerator(seed: sceneSeed &+ UInt64(g) &* 7919)
        system.matrix.apply((0..<n).map { _ in gen.normal() }, into: &start)
        let dec = try Lanczos.run(system.matrix, start: start, steps: min(lanczosSteps, n))
        let (values, vectors) = try Lanczos.ritzPairs(dec)
        let r = (system, values, vectors)
        ritz[g] = r
        return r
    }

    /// Sample `index`: a Ritz mixture on scene index mod `geometries` (coefficients from
    /// `generator`) and the scene's cells.
    public func sample(_ index: Int, generator: inout SeededGenerator) throws -> [[Double]] {
        let (system, values, vectors) = try ritzPairs(index % geometries)
        let m = values.count
        let b = try Lanczos.mixedRightHandSides(values: values, vectors: vectors, size: system.unknownCount, count: 1,
                                                emphasized: Int((emphasized * Double(m)).rounded()), lowWeight: lowWeight,
                                                seed: generator.next())[0]
        return [system.scatter(b), system.domain.cells.map { Double($0.rawValue) }]
    }
}

/// The fixed evaluation scenes of the deep conjugate direction method, never used in
/// training (training scenes are `randomObstacles` with small seeds; these use seeds from
/// 10⁶ and other generators): per size, a smoke plume with an offset obstacle, a random
/// obstacle field, and a liquid pool with a free surface (air cells).
public enum DCDMScenes {
    /// The scenes at `counts` with their names.
    public static func evaluation(counts: [Int]) throws -> [(name: String, domain: CellDomain)] {
        let tag = counts.map(String.init).joined(separator: "x")
        return [("plume-\(tag)", try CellDomain.smokePlume(counts: counts, offset: 0.12, radius: 0.1)),
                ("obstacles-\(tag)", try CellDomain.randomObstacles(counts: counts, boxes: 4, balls: 3, seed: 1_000_003)),
                ("pool-\(tag)", try CellDomain.pool(counts: counts, level: 0.7, boxes: 3, seed: 1_000_007))]
    }

    /// One entry of a scene index: the mask file (relative to the index) and the face kinds.
    public struct IndexEntry: Codable, Equatable, Sendable {
        public var name: String
        public var file: String
        /// Face kinds x−, x+, y−, y+[, z−, z+]: "closed" or "open".
        public var faces: [String]
    }

    /// Writes the evaluation scenes of every size in `sizes` into `directory` as uint8 NPY
    /// masks plus `scenes.json` (name, file, faces), atomically. Returns the entries.
    @discardableResult
    public static func write(sizes: [[Int]], to directory: String) throws -> [IndexEntry] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var entries: [IndexEntry] = []
        for counts in sizes {
            for (name, domain) in try evaluation(counts: counts) {
                let (values, shape) = domain.mask
                try NPY.write(values, shape: shape, to: directory + "/" + name + ".npy")
                entries.append(IndexEntry(name: name, file: name + ".npy", faces: domain.faces.map(\.rawValue)))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(entries), to: directory + "/scenes.json")
        return entries
    }

    /// Reads the scenes listed in `directory/scenes.json`. Throws typed errors naming the
    /// file for a missing or malformed index, mask or face list.
    public static func load(from directory: String) throws -> [(name: String, domain: CellDomain)] {
        let indexPath = directory + "/scenes.json"
        guard let data = FileManager.default.contents(atPath: indexPath) else { throw PDEError.fileNotFound(path: indexPath) }
        let entries: [IndexEntry]
        do { entries = try JSONDecoder().decode([IndexEntry].self, from: data) } catch {
            throw PDEError.malformedFile(path: indexPath, line: nil, reason: "expected a JSON list of {name, file, faces}: \(error)")
        }
        return try entries.map { e in
            let faces = try e.faces.map { f -> CellDomain.FaceKind in
                guard let k = CellDomain.FaceKind(rawValue: f) else {
                    throw PDEError.invalidValue(key: "\(indexPath): \(e.name).faces", value: "'\(f)'", expected: "closed or open")
                }
                return k
            }
            let path = directory + "/" + e.file
            let a = try NPY.read(path)
            return (e.name, try CellDomain(mask: a.doubles, shape: a.shape, faces: faces, source: path))
        }
    }
}

import Foundation
import Learning
@testable import Operators
import PDE
import Testing
import TestSupport

/// Reading pde-datagen files for training: slices, subsampling, splits, seeded batches.
@Suite struct OperatorDatasetTests {
    func makeFile() throws -> String {
        let path = makeTemporaryFolder() + "/darcy.h5"
        let family = try DarcyFamily(size: 17, resolutions: [9, 17], direct: true)
        _ = try DatasetGeneration.run(family, to: path, options: DatasetGenerationOptions(samples: 6, seed: 5, workers: 1))
        return path
    }

    @Test func subsampledBatchesEqualTheGeneratorsCoarseFields() throws {
        let path = try makeFile()
        let (train, _, test) = try OperatorDataset.split(total: 6, train: 4, test: 2)
        let fine = try OperatorDataset(path: path, input: "a_17", output: "u_17", samples: train, stride: 2)
        let coarse = try OperatorDataset(path: path, input: "a_9", output: "u_9", samples: train)
        #expect(fine.count == 4 && fine.subsampledShape(fine.fileInputShape) == [9, 9])
        let (x, y) = try fine.batch([3, 0])
        let (xc, yc) = try coarse.batch([3, 0])
        #expect(x.shape == [2, 1, 9, 9] && y.shape == [2, 1, 9, 9])
        #expect(x.scalars == xc.scalars && y.scalars == yc.scalars)   // stride 2 of 17 nodes = the stored 9-node fields
        // The test split reads the last samples of the file.
        let tail = try OperatorDataset(path: path, input: "u_9", output: "u_9", samples: test)
        let all = try OperatorDataset(path: path, input: "u_9", output: "u_9")
        #expect(try tail.batch([0]).input.scalars == all.batch([4]).input.scalars)
    }

    @Test func batchesAreSeededPermutations() throws {
        let data = try OperatorDataset(path: try makeFile(), input: "a_9", output: "u_9")
        var g1: SeededGenerator? = SeededGenerator(seed: 1), g2: SeededGenerator? = SeededGenerator(seed: 1), none: SeededGenerator? = nil
        let a = try data.batches(size: 4, shuffledBy: &g1), b = try data.batches(size: 4, shuffledBy: &g2)
        #expect(a == b && a.map(\.count) == [4, 2] && Set(a.flatMap { $0 }) == Set(0..<6))
        #expect(try data.batches(size: 4, shuffledBy: &none) == [[0, 1, 2, 3], [4, 5]])
    }

    @Test func badArgumentsAreTypedErrors() throws {
        let path = try makeFile()
        #expect(throws: PDEError.self) { try OperatorDataset(path: path, input: "nope", output: "u_9") }
        #expect(throws: LearningError.self) { try OperatorDataset(path: path, input: "a_9", output: "x_9") }
        #expect(throws: LearningError.self) { try OperatorDataset(path: path, input: "a_9", output: "u_9", samples: 4..<9) }
        #expect(throws: LearningError.self) { try OperatorDataset(path: path, input: "a_9", output: "u_9", stride: 0) }
        #expect(throws: LearningError.self) { try OperatorDataset(path: path, input: "a_9", output: "u_9").batch([6]) }
        #expect(throws: LearningError.self) { try OperatorDataset.split(total: 6, train: 5, test: 2) }
    }
}

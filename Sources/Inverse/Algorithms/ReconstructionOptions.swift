import Foundation
import PDE

/// One row of an algorithm's history (written as a JSON line by `pde-invert`).
public struct IterationRecord: Codable, Sendable, Equatable {
    /// 1-based iteration.
    public var iteration: Int
    /// The objective the algorithm minimizes, when every term knows its value.
    public var objective: Double?
    /// PSNR against the truth, when one was given.
    public var psnr: Double?
    /// SSIM against the truth, when one was given and `trackSSIM` is on.
    public var ssim: Double?
    /// ‖xₖ − xₖ₋₁‖ / ‖xₖ‖.
    public var relativeChange: Double
    /// Seconds since the start.
    public var seconds: Double
}

/// Why a reconstruction stopped.
public enum ReconstructionStop: String, Codable, Sendable, CaseIterable {
    /// ‖xₖ − xₖ₋₁‖ ≤ tolerance·‖xₖ‖.
    case converged
    /// maxIterations reached first.
    case maxIterations
    /// NaN or Inf appeared.
    case notANumber
    /// The objective grew by orders of magnitude (a step size too large for the problem).
    case diverged
    /// No decrease could be found (L-BFGS's line search failed even along −∇f: the objective
    /// is at its floating-point floor, or the gradient is inexact).
    case stalled

    /// True only for `.converged`.
    public var converged: Bool { self == .converged }
}

/// The options every reconstruction algorithm shares (the inverse-problem counterpart of
/// `IterativeOptions`).
public struct ReconstructionOptions {
    /// Iteration limit.
    public var maxIterations: Int
    /// Stop when ‖xₖ − xₖ₋₁‖ ≤ tolerance·‖xₖ‖ (0: run all iterations).
    public var tolerance: Double
    /// The true image, for PSNR/SSIM in the history (nil: none).
    public var truth: [Double]?
    /// Image shape for SSIM ([rows, cols]).
    public var imageShape: [Int]?
    /// Data range of PSNR/SSIM.
    public var dataRange: Double
    /// Clip the estimate to [0, dataRange] before scoring (as the peers do).
    public var clipForMetrics: Bool
    /// Compute SSIM each iteration (costs about one image filter pass ×5).
    public var trackSSIM: Bool
    /// Evaluate the objective each iteration (one extra forward model application).
    public var trackObjective: Bool
    /// Keep the records in the report.
    public var recordHistory: Bool
    /// Called after every iteration.
    public var monitor: ((IterationRecord) -> Void)?

    /// Defaults: 200 iterations, tolerance 1e-6, no truth, range 1, clipped metrics, objective
    /// tracked, history kept.
    public init(maxIterations: Int = 200, tolerance: Double = 1e-6, truth: [Double]? = nil, imageShape: [Int]? = nil,
                dataRange: Double = 1, clipForMetrics: Bool = true, trackSSIM: Bool = false, trackObjective: Bool = true,
                recordHistory: Bool = true, monitor: ((IterationRecord) -> Void)? = nil) {
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.truth = truth
        self.imageShape = imageShape
        self.dataRange = dataRange
        self.clipForMetrics = clipForMetrics
        self.trackSSIM = trackSSIM
        self.trackObjective = trackObjective
        self.recordHistory = recordHistory
        self.monitor = monitor
    }

    /// Throws for a negative iteration limit or tolerance, a non-positive range, or a truth of
    /// the wrong length.
    func validate(count: Int) throws {
        guard maxIterations >= 0 else {
            throw PDEError.invalidValue(key: "max_iterations", value: "\(maxIterations)", expected: "an integer ≥ 0")
        }
        try InverseCheck.nonNegative(tolerance, key: "tolerance")
        try InverseCheck.positive(dataRange, key: "data_range")
        if let t = truth { try InverseCheck.length(t.count, count, "truth image") }
        if trackSSIM {
            guard let s = imageShape, s.count == 2, s[0] * s[1] == count else {
                throw PDEError.invalidValue(key: "image_shape", value: "\(imageShape ?? [])", expected: "[rows, cols] of the \(count) unknowns for SSIM")
            }
        }
    }
}

/// What a reconstruction did.
public struct ReconstructionReport: Sendable {
    /// The algorithm's name.
    public var algorithm: String
    /// Why it stopped.
    public var stop: ReconstructionStop
    /// Iterations done.
    public var iterations: Int
    /// Per-iteration records (when `recordHistory`).
    public var history: [IterationRecord]
    /// Wall time in seconds.
    public var seconds: Double
    /// Notes (step sizes chosen, backtracking, inner CG iterations).
    public var notes: [String]
}

/// The bookkeeping every algorithm loop shares: change, metrics, monitor, stopping.
struct IterationTracker {
    let options: ReconstructionOptions
    let algorithm: String
    let start = DispatchTime.now()
    var history: [IterationRecord] = []
    var notes: [String] = []
    var firstObjective: Double?

    init(_ options: ReconstructionOptions, algorithm: String, count: Int) throws {
        try options.validate(count: count)
        self.options = options
        self.algorithm = algorithm
    }

    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9 }

    /// Records iteration k; returns a stop reason when the loop should end. `auxiliary` is a
    /// second relative change that must also be below the tolerance (the dual change of
    /// PDHG, the primal residual ‖Kx − z‖ of ADMM): primal-dual methods may leave x unchanged
    /// for an iteration while their other variables still move. Never converged at k = 1.
    mutating func record(_ k: Int, x: [Double], previous: [Double], auxiliary: Double = 0,
                         objective: () -> Double?) -> ReconstructionStop? {
        // Nothing reads the record (fixed iterations, no history, monitor, truth or objective):
        // skip its passes; `report(stop:iterations:x:)` still checks the result for NaN.
        if !(options.tolerance > 0 || options.recordHistory || options.monitor != nil || options.truth != nil || options.trackObjective) {
            return nil
        }
        let (d2, n2) = InverseVectors.distanceAndNormSquared(x, previous)
        let change = d2.squareRoot() / max(n2.squareRoot(), .leastNormalMagnitude)
        if !change.isFinite { return .notANumber }
        let obj = options.trackObjective ? objective() : nil
        var rec = IterationRecord(iteration: k, objective: obj, psnr: nil, ssim: nil, relativeChange: change, seconds: seconds)
        if let t = options.truth {
            let est = options.clipForMetrics ? x.map { min(max($0, 0), options.dataRange) } : x
            rec.psnr = try? ImageMetrics.psnr(est, t, dataRange: options.dataRange)
            if options.trackSSIM, let s = options.imageShape {
                rec.ssim = try? ImageMetrics.ssim(est, t, shape: s, dataRange: options.dataRange)
            }
        }
        if options.recordHistory { history.append(rec) }
        options.monitor?(rec)
        if let o = obj {
            if !o.isFinite && o != .infinity { return .notANumber }
            if let f = firstObjective, o.isFinite, f.isFinite, abs(o) > 1e8 * max(abs(f), 1) { return .diverged }
            if firstObjective == nil { firstObjective = o }
        }
        if options.tolerance > 0 && k > 1 && max(change, auxiliary) <= options.tolerance { return .converged }
        return nil
    }

    /// The report; with `x`, a non-finite entry turns the stop into `.notANumber` (for loops
    /// whose records were skipped).
    func report(stop: ReconstructionStop, iterations: Int, x: [Double]? = nil) -> ReconstructionReport {
        let final = x.map { $0.contains { !$0.isFinite } } == true ? .notANumber : stop
        return ReconstructionReport(algorithm: algorithm, stop: final, iterations: iterations, history: history, seconds: seconds, notes: notes)
    }
}

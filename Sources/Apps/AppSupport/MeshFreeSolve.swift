import Foundation
import PDE
import Yams

/// The config of `pde-solve` for a mesh-free (kernel) method: a named problem, the method
/// (`gp-collocation`, `gp-hm`) with its options, and the outputs.
///
/// ```yaml
/// problem: nonlinear-elliptic
/// solver: {method: gp-collocation, options: {lengthscale: 0.2, nugget: 1.0e-10, sampling: halton}}
/// output: {directory: out, name: gp-elliptic, formats: [npy, vti, png, svg]}
/// ```
public struct MeshFreeSolveConfig: Decodable, Sendable {
    /// Files a mesh-free run can write: the prediction on the evaluation grid as NumPy array,
    /// VTK image data and heat-map PNG (2-D; 1-D as a line plot in the SVG), the convergence
    /// history as SVG, and the learned spectral-mixture weights against frequency as PNG (GP-HM).
    public enum Format: String, Sendable, CaseIterable { case npy, vti, png, svg, spectrum }

    public var problem: String
    public var method: String
    /// Method options as text, checked by the registry entry.
    public var options: [String: String] = [:]
    public var directory = "out"
    public var name = "solution"
    public var formats: [Format] = []

    /// Throws `ConfigError` on unknown keys, a method that is not mesh-free, a missing problem,
    /// non-scalar options, or unknown formats.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(["problem", "solver", "output"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        guard let problem: String = try c.value("problem") else {
            throw ConfigError(keyPath: "problem", value: "missing", expected: "a problem name for the mesh-free method")
        }
        self.problem = problem
        let s = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("solver"))
        try s.rejectUnknownKeys(["method", "options"], path: "solver")
        method = try s.value("method") ?? ""
        guard SolverRegistry.isMeshFree(method) else {
            throw ConfigError(keyPath: s.path("method"), value: "'\(method)'",
                              expected: "one of " + SolverRegistry.meshFreeMethods.map(\.name).joined(separator: ", "))
        }
        if s.contains(AnyKey("options")) {
            let o = try s.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("options"))
            for key in o.allKeys {
                if let v = try? o.decode(String.self, forKey: key) { options[key.stringValue] = v }
                else if let v = try? o.decode(Double.self, forKey: key) { options[key.stringValue] = "\(v)" }
                else if let v = try? o.decode([Double].self, forKey: key) { options[key.stringValue] = v.map { "\($0)" }.joined(separator: ",") }
                else { throw ConfigError(keyPath: o.path(key.stringValue), value: "not a scalar", expected: "a number, a name or a list of numbers") }
            }
        }
        if c.contains(AnyKey("output")) {
            let o = try c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("output"))
            try o.rejectUnknownKeys(["directory", "name", "formats"], path: "output")
            directory = try o.value("directory") ?? directory
            name = try o.value("name") ?? name
            guard !name.isEmpty, !name.contains("/") else {
                throw ConfigError(keyPath: o.path("name"), value: "'\(name)'", expected: "a file name without '/'")
            }
            let raw: [String] = try o.value("formats") ?? []
            formats = try raw.enumerated().map { i, f in
                guard let format = Format(rawValue: f) else {
                    throw ConfigError(keyPath: o.path("formats") + "[\(i)]", value: "'\(f)'",
                                      expected: "one of " + Format.allCases.map(\.rawValue).joined(separator: ", "))
                }
                return format
            }
        }
    }
}

/// The solver method a `pde-solve` config names (nil when it names none): lets `pde-solve`
/// pick the mesh-free path through the registry before decoding the full config.
public func configuredSolverMethod(in path: String) -> String? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8),
          let root = (try? Yams.load(yaml: text)) as? [String: Any],
          let solver = root["solver"] as? [String: Any] else { return nil }
    return solver["method"] as? String
}

/// Runs a mesh-free config: the registry entry solves, the outputs are written atomically.
public struct MeshFreeRunner {
    public let config: MeshFreeSolveConfig
    public let log: @Sendable (String) -> Void

    /// A runner printing progress through `log`.
    public init(config: MeshFreeSolveConfig, log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.config = config
        self.log = log
    }

    /// Solves and writes; returns the solution and the files written.
    public func run() throws -> (solution: MeshFreeSolution, outputs: [String]) {
        let entry = try SolverRegistry.meshFreeMethod(config.method)
        let solution = try entry.run(problem: config.problem, parameters: config.options, log: log)
        for note in solution.notes { log(note) }
        if let e = solution.errors {
            log(String(format: "errors vs the %@: RMS %.3e, max %.3e, relative L2 %.3e", config.method == "gp-hm" ? "exact solution" : "reference",
                       e.rms, e.max, e.relativeL2))
        }
        var outputs: [String] = []
        if !config.formats.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: config.directory, withIntermediateDirectories: true)
            } catch {
                throw FileWriteError(path: config.directory, reason: error.localizedDescription)
            }
        }
        let base = config.directory + "/" + config.name
        let counts = solution.counts
        // x-fastest order for VTK and the heat map (the solution is row-major, last axis fastest).
        var xFastest = solution.values
        if counts.count == 2 {
            for i in 0..<counts[0] { for j in 0..<counts[1] { xFastest[j * counts[0] + i] = solution.values[i * counts[1] + j] } }
        }
        for format in config.formats {
            let path: String
            switch format {
            case .npy:
                path = base + ".npy"
                try NPY.write(solution.values, shape: counts, to: path)
            case .vti:
                path = base + ".vti"
                let spacing = counts.indices.map { (solution.upper[$0] - solution.lower[$0]) / Double(counts[$0] - 1) }
                var fields = [(name: "u", values: xFastest)]
                if let reference = solution.reference {
                    var r = reference
                    if counts.count == 2 {
                        for i in 0..<counts[0] { for j in 0..<counts[1] { r[j * counts[0] + i] = reference[i * counts[1] + j] } }
                    }
                    fields.append((name: "reference", values: r))
                    fields.append((name: "error", values: zip(xFastest, r).map { $0 - $1 }))
                }
                try VTK.writeImageData(path: path, counts: counts, origin: solution.lower, spacing: spacing, pointData: fields)
            case .png:
                path = base + ".png"
                if counts.count == 2 {
                    try HeatMap.write(values: xFastest, width: counts[0], height: counts[1], to: path,
                                      title: "\(config.method) \(config.problem)")
                } else {
                    // One-variable solutions: the solution (and the exact one) as a strip of heat-map rows.
                    var rows = solution.values
                    if let reference = solution.reference { rows += reference }
                    try HeatMap.write(values: rows, width: counts[0], height: rows.count / counts[0], to: path,
                                      title: solution.reference == nil ? "u" : "u (top) | exact (bottom)")
                }
            case .svg:
                path = base + "-convergence.svg"
                var plot = SVGLinePlot(title: "\(config.method) on \(config.problem)", xLabel: "iteration",
                                       yLabel: "objective / test error", logY: true)
                let objective = solution.history.map { (Double($0.iteration), abs($0.objective)) }
                plot.series.append(.init(label: config.method == "gp-hm" ? "|loss|" : "objective zᵀΘ⁻¹z",
                                         x: objective.map(\.0), y: objective.map(\.1)))
                let errors = solution.history.compactMap { h in h.error.map { (Double(h.iteration), $0) } }
                if !errors.isEmpty { plot.series.append(.init(label: "relative L2 error", x: errors.map(\.0), y: errors.map(\.1))) }
                try plot.write(to: path)
            case .spectrum:
                guard !solution.spectrum.isEmpty else {
                    throw ConfigError(keyPath: "output.formats", value: "spectrum for \(config.method)",
                                      expected: "spectrum only with gp-hm (a learned spectral mixture)")
                }
                path = base + "-spectrum.png"
                try Self.spectrumImage(solution.spectrum, title: "learned weights vs frequency").writePNG(to: path)
            }
            outputs.append(path)
            log("wrote \(path)")
        }
        return (solution, outputs)
    }

    /// A stem plot of mixture weights (log scale, 1e-8 … max) against frequency, as a PNG image.
    static func spectrumImage(_ spectrum: [(frequency: Double, weight: Double)], title: String) -> RGBImage {
        let width = 640, height = 360, left = 60, right = 20, top = 30, bottom = 40
        var image = RGBImage(width: width, height: height)
        image.drawText(title, x: left, y: 8, scale: 2)
        let plotW = width - left - right, plotH = height - top - bottom
        image.fillRect(x: left, y: top + plotH, width: plotW, height: 1, (0, 0, 0))
        image.fillRect(x: left, y: top, width: 1, height: plotH, (0, 0, 0))
        let fMax = max(spectrum.map { abs($0.frequency) }.max() ?? 1, 1e-12)
        let wMax = max(spectrum.map(\.weight).max() ?? 1, 1e-300)
        let lowest = wMax * 1e-8
        for (f, w) in spectrum {
            let x = left + Int(Double(plotW - 4) * abs(f) / fMax) + 2
            let level = log10(max(w, lowest) / lowest) / 8
            let h = max(1, Int(Double(plotH) * level))
            image.fillRect(x: x - 1, y: top + plotH - h, width: 3, height: h, (31, 119, 180))
        }
        image.drawText(String(format: "0 ... %.4g cycles per unit", fMax), x: left, y: top + plotH + 8)
        image.drawText(String(format: "weight, log scale: %.1e ... %.1e", lowest, wMax), x: left, y: top + plotH + 22)
        return image
    }
}

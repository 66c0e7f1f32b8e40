import Foundation

/// Line plots as standalone SVG files (convergence histories, error-vs-h tables), with
/// linear or base-10 logarithmic axes, ticks, labels and a legend. No dependencies.
public struct SVGLinePlot {
    /// One labelled polyline; `x` and `y` need equal lengths (checked by `render`).
    public struct Series {
        public var label: String
        public var x: [Double]
        public var y: [Double]
        /// Points (x[i], y[i]); the lengths are checked when rendering, not here.
        public init(label: String, x: [Double], y: [Double]) { self.label = label; self.x = x; self.y = y }
        /// y against 0, 1, 2, … (residual histories).
        public init(label: String, y: [Double]) { self.init(label: label, x: y.indices.map(Double.init), y: y) }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logX = false
    public var logY = false
    public var series: [Series] = []
    /// Canvas size in pixels; 170 px on the right are kept for the legend.
    public var width = 720.0
    public var height = 480.0

    /// An empty 720 × 480 plot (append to `series`); `logX` / `logY` make an axis base-10
    /// logarithmic, on which values ≤ 0 are dropped.
    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.logY = logY
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

    /// What every renderer of the plot (SVG here, raster in PlotRaster.swift) draws: each
    /// series' drawable points in axis coordinates (log10 on a log axis), the axis ranges,
    /// the ticks and the frame of the plot area in canvas coordinates (y down).
    struct Layout {
        /// Per series (same order as `series`), the points that can be drawn.
        var points: [[(Double, Double)]]
        var x0: Double, x1: Double, y0: Double, y1: Double
        /// Tick positions in axis coordinates with their labels.
        var xTicks: [(Double, String)], yTicks: [(Double, String)]
        var left: Double, right: Double, top: Double, bottom: Double

        /// Canvas x of axis coordinate `v`.
        func px(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * (right - left) }
        /// Canvas y of axis coordinate `v`.
        func py(_ v: Double) -> Double { bottom - (v - y0) / (y1 - y0) * (bottom - top) }
    }

    /// Checks the series and computes the layout. Points that cannot be drawn (non-finite,
    /// or ≤ 0 on a log axis) are skipped; throws `shapeMismatch` for a series whose x and y
    /// lengths differ and `invalidValue` when no point at all can be drawn.
    func layout() throws -> Layout {
        func tx(_ v: Double) -> Double? { logX ? (v > 0 && v.isFinite ? log10(v) : nil) : (v.isFinite ? v : nil) }
        func ty(_ v: Double) -> Double? { logY ? (v > 0 && v.isFinite ? log10(v) : nil) : (v.isFinite ? v : nil) }
        var pts: [[(Double, Double)]] = []
        for s in series {
            guard s.x.count == s.y.count else {
                throw PDEError.shapeMismatch(what: "plot series '\(s.label)'", expected: "as many x as y values (\(s.y.count))", got: "\(s.x.count)")
            }
            pts.append(zip(s.x, s.y).compactMap { a, b in tx(a).flatMap { u in ty(b).map { (u, $0) } } })
        }
        let all = pts.flatMap { $0 }
        guard !all.isEmpty else {
            throw PDEError.invalidValue(key: "plot data", value: "no drawable points", expected: "finite values (positive on log axes)")
        }
        var (x0, x1) = (all.map(\.0).min()!, all.map(\.0).max()!)
        var (y0, y1) = (all.map(\.1).min()!, all.map(\.1).max()!)
        if x1 == x0 { x0 -= 0.5; x1 += 0.5 }
        if y1 == y0 { y0 -= 0.5; y1 += 0.5 }
        if logY { y0 = floor(y0); y1 = ceil(y1) }
        if logX { x0 = floor(x0); x1 = ceil(x1) }
        return Layout(points: pts, x0: x0, x1: x1, y0: y0, y1: y1,
                      xTicks: SVGLinePlot.ticks(x0, x1, log: logX), yTicks: SVGLinePlot.ticks(y0, y1, log: logY),
                      left: 80, right: width - 170, top: 40, bottom: height - 60)
    }

    /// The SVG document. Points that cannot be drawn (non-finite, or ≤ 0 on a log axis) are skipped.
    public func render() throws -> String {
        let l = try layout()
        let (left, right, top, bottom) = (l.left, l.right, l.top, l.bottom)
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(fmt((left + right) / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>
        <rect x="\(fmt(left))" y="\(fmt(top))" width="\(fmt(right - left))" height="\(fmt(bottom - top))" fill="none" stroke="black"/>

        """
        for (v, label) in l.xTicks {
            svg += "<line x1=\"\(fmt(l.px(v)))\" y1=\"\(fmt(bottom))\" x2=\"\(fmt(l.px(v)))\" y2=\"\(fmt(top))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(fmt(l.px(v)))\" y=\"\(fmt(bottom + 16))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        for (v, label) in l.yTicks {
            svg += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(l.py(v)))\" x2=\"\(fmt(right))\" y2=\"\(fmt(l.py(v)))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(l.py(v) + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        svg += "<text x=\"\(fmt((left + right) / 2))\" y=\"\(fmt(height - 18))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(18,\(fmt((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (k, p) in l.points.enumerated() where !p.isEmpty {
            let color = SVGLinePlot.palette[k % SVGLinePlot.palette.count]
            let path = p.map { "\(fmt(l.px($0.0))),\(fmt(l.py($0.1)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(path)\"/>\n"
            let ly = top + 14 + Double(k) * 18
            svg += "<line x1=\"\(fmt(right + 12))\" y1=\"\(fmt(ly - 4))\" x2=\"\(fmt(right + 36))\" y2=\"\(fmt(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\"\(fmt(right + 42))\" y=\"\(fmt(ly))\">\(escape(series[k].label))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// Renders and writes atomically.
    public func write(to path: String) throws {
        try AtomicFile.write(Data(try render().utf8), to: path)
    }

    /// Tick positions in [a, b] (axis coordinates) with their labels: every decade (at most
    /// about nine) as "1eN" on a log axis, else multiples of a 1-2-5 step (about six) as "%g".
    static func ticks(_ a: Double, _ b: Double, log: Bool) -> [(Double, String)] {
        if log {
            let lo = Int(a.rounded(.down)), hi = Int(b.rounded(.up))
            let step = max(1, (hi - lo) / 8)
            return stride(from: lo, through: hi, by: step).map { (Double($0), "1e\($0)") }
        }
        let raw = (b - a) / 6
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [(Double, String)] = []
        var v = ceil(a / step) * step
        while v <= b + 1e-9 * step {
            out.append((v, String(format: "%g", abs(v) < 1e-12 * step ? 0 : v)))
            // A step below the spacing of doubles near v (a narrow range far from 0) would
            // never advance: stop rather than loop forever.
            guard v + step > v else { break }
            v += step
        }
        return out
    }

    private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

import CPNG
import Foundation

/// A perceptually uniform colormap (matplotlib's viridis, linearly interpolated between
/// eleven anchors taken at t = 0, 0.1, …, 1).
public struct Colormap: Sendable {
    let anchors: [(Double, Double, Double)]

    public static let viridis = Colormap(anchors: [
        (68, 1, 84), (72, 35, 116), (64, 67, 135), (52, 94, 141), (41, 120, 142), (32, 144, 140),
        (34, 167, 132), (68, 190, 112), (121, 209, 81), (189, 222, 38), (253, 231, 37),
    ])

    /// Linear gray from black (t = 0) to white (t = 1), for images.
    public static let gray = Colormap(anchors: [(0, 0, 0), (255, 255, 255)])

    /// Color at t ∈ [0, 1] (clamped).
    public func rgb(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let s = min(1, max(0, t.isFinite ? t : 0)) * Double(anchors.count - 1)
        let i = min(anchors.count - 2, Int(s))
        let f = s - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        func mix(_ u: Double, _ v: Double) -> UInt8 { UInt8((u + (v - u) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// An 8-bit RGB raster with simple drawing, written as PNG by libpng.
public struct RGBImage {
    public let width: Int, height: Int
    /// Row-major RGB bytes, three per pixel, top row first.
    public var pixels: [UInt8]

    /// A width × height image filled with `fill` (white by default); allocates 3 · width · height
    /// bytes and traps for negative sizes.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = max(0, width)
        self.height = max(0, height)
        let (width, height) = (self.width, self.height)
        pixels = [UInt8](repeating: 0, count: 3 * width * height)
        for i in 0..<(width * height) { pixels[3 * i] = fill.0; pixels[3 * i + 1] = fill.1; pixels[3 * i + 2] = fill.2 }
    }

    /// Colours pixel (x, y), y counted down from the top row; points outside the image are ignored.
    public mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let k = 3 * (y * width + x)
        pixels[k] = c.0; pixels[k + 1] = c.1; pixels[k + 2] = c.2
    }

    /// Fills the rectangle with top-left corner (x, y), clipped to the image; a negative width
    /// or height traps.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard w > 0, h > 0 else { return }
        for yy in y..<(y + h) { for xx in x..<(x + w) { set(xx, yy, c) } }
    }

    /// Draws text with the built-in 5×7 font, top-left corner at (x, y).
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        var cx = x
        for ch in text {
            let g = BitmapFont.glyph(ch)
            for (row, bits) in g.enumerated() {
                for (col, b) in bits.enumerated() where b == "#" {
                    fillRect(x: cx + col * scale, y: y + row * scale, width: scale, height: scale, color)
                }
            }
            cx += (BitmapFont.width + 1) * scale
        }
    }

    /// Writes the image as PNG (atomically).
    public func writePNG(to path: String) throws {
        try AtomicFile.write(to: path) { tmp in
            let status = pixels.withUnsafeBufferPointer { p in
                swiftpde_png_write_rgb8(tmp, p.baseAddress, UInt32(width), UInt32(height))
            }
            switch status {
            case 0: return
            case 1: throw PDEError.writeFailed(path: path, reason: "cannot open the file for writing")
            default: throw PDEError.writeFailed(path: path, reason: "libpng failed to encode the image")
            }
        }
    }
}

/// Heat maps of 2-D fields as PNG: viridis colors, a colorbar with tick labels, an
/// optional title. Rows of `values` run from the lowest y upwards (grid order, x fastest),
/// so the picture shows y increasing upwards as on a plot.
public enum HeatMap {
    /// Writes a heat map. `scale` enlarges each value to scale×scale pixels (default: chosen
    /// so the map is at least ~400 pixels wide). NaN values (and points outside a mesh) are drawn light gray.
    public static func write(values: [Double], width: Int, height: Int, to path: String, title: String? = nil,
                             range: ClosedRange<Double>? = nil, scale: Int? = nil, colormap: Colormap = .viridis) throws {
        try image(values: values, width: width, height: height, title: title, range: range, scale: scale, colormap: colormap).writePNG(to: path)
    }

    /// Several heat maps of the same size side by side in one PNG, each with its title and
    /// its own color bar (e.g. input | truth | prediction | error of a neural operator).
    /// Throws as `write` for any panel, or for no panels.
    public static func writeRow(_ panels: [(title: String, values: [Double])], width: Int, height: Int, to path: String,
                                colormap: Colormap = .viridis) throws {
        try writeRow(panels.map { Panel(title: $0.title, values: $0.values, colormap: colormap) }, width: width, height: height, to: path)
    }

    /// One panel of `writeRow(_:width:height:to:)`: a title, values (grid order: row 0 at the
    /// bottom, as `write`), an optional fixed color range and a colormap.
    public struct Panel {
        public var title: String
        public var values: [Double]
        public var range: ClosedRange<Double>?
        public var colormap: Colormap
        /// A panel; `range` nil scales to the values' extent.
        public init(title: String, values: [Double], range: ClosedRange<Double>? = nil, colormap: Colormap = .viridis) {
            self.title = title
            self.values = values
            self.range = range
            self.colormap = colormap
        }
    }

    /// Panels of the same size side by side, each with its own range and colormap (e.g. images
    /// in gray on [0, 1] next to an error map). Throws as `write` for any panel, or for none.
    public static func writeRow(_ panels: [Panel], width: Int, height: Int, to path: String) throws {
        guard !panels.isEmpty else {
            throw PDEError.invalidValue(key: "heat map panels", value: "none", expected: "at least one panel")
        }
        let images = try panels.map { try image(values: $0.values, width: width, height: height, title: $0.title, range: $0.range, scale: nil, colormap: $0.colormap) }
        var row = RGBImage(width: images.map(\.width).reduce(0, +), height: images.map(\.height).max()!)
        var x0 = 0
        for img in images {
            for y in 0..<img.height {
                let src = 3 * y * img.width, dst = 3 * (y * row.width + x0)
                row.pixels.replaceSubrange(dst..<(dst + 3 * img.width), with: img.pixels[src..<(src + 3 * img.width)])
            }
            x0 += img.width
        }
        try row.writePNG(to: path)
    }

    /// The heat map `write` draws, as an image.
    static func image(values: [Double], width: Int, height: Int, title: String?, range: ClosedRange<Double>?, scale: Int?,
                      colormap: Colormap) throws -> RGBImage {
        guard width >= 1, height >= 1, width <= 1 << 20, height <= 1 << 20, values.count == width * height else {
            throw PDEError.shapeMismatch(what: "heat map", expected: "\(width)×\(height) values (1 ≤ sizes ≤ 2²⁰)", got: "\(values.count)")
        }
        if let scale, !(1...64).contains(scale) {
            throw PDEError.invalidValue(key: "heat map scale", value: "\(scale)", expected: "an integer from 1 to 64 (pixels per value)")
        }
        let finite = values.filter(\.isFinite)
        var lo = range?.lowerBound ?? finite.min() ?? 0
        var hi = range?.upperBound ?? finite.max() ?? 1
        if hi <= lo { let m = lo; lo = m - 0.5 * max(1, abs(m)); hi = m + 0.5 * max(1, abs(m)) }
        // Downsample very large fields to at most ~1024 pixels per side (nearest value).
        let s = scale ?? max(1, 400 / max(width, height))
        let stride = max(1, (max(width, height) + 1023) / 1024)
        let mapW = (width + stride - 1) / stride * s, mapH = (height + stride - 1) / stride * s
        let text = 2  // font scale
        let margin = 16
        let titleH = title == nil ? 0 : (BitmapFont.height + 4) * text
        let barW = 24
        let ticks = tickValues(lo, hi)
        let labels = ticks.map { format($0) }
        let labelW = labels.map { BitmapFont.textWidth($0, scale: text) }.max() ?? 0
        let imgW = margin + mapW + margin + barW + 8 + labelW + margin
        let imgH = margin + titleH + mapH + margin + BitmapFont.height * text / 2
        var img = RGBImage(width: imgW, height: imgH)
        let top = margin + titleH
        if let title {
            let tw = BitmapFont.textWidth(title, scale: text)
            img.drawText(title, x: max(margin, (imgW - tw) / 2), y: margin / 2, scale: text)
        }
        // The map: image row r shows grid row height−1−r (y upwards).
        for py in 0..<(mapH / s) {
            let j = height - 1 - min(height - 1, py * stride)
            for px in 0..<(mapW / s) {
                let i = min(width - 1, px * stride)
                let v = values[j * width + i]
                let c = v.isFinite ? colormap.rgb((v - lo) / (hi - lo)) : (215, 215, 215)
                img.fillRect(x: margin + px * s, y: top + py * s, width: s, height: s, c)
            }
        }
        // Frame.
        let black: (UInt8, UInt8, UInt8) = (0, 0, 0)
        img.fillRect(x: margin - 1, y: top - 1, width: mapW + 2, height: 1, black)
        img.fillRect(x: margin - 1, y: top + mapH, width: mapW + 2, height: 1, black)
        img.fillRect(x: margin - 1, y: top - 1, width: 1, height: mapH + 2, black)
        img.fillRect(x: margin + mapW, y: top - 1, width: 1, height: mapH + 2, black)
        // Colorbar, high values at the top.
        let barX = margin + mapW + margin
        for py in 0..<mapH {
            let t = 1 - Double(py) / Double(max(1, mapH - 1))
            img.fillRect(x: barX, y: top + py, width: barW, height: 1, colormap.rgb(t))
        }
        img.fillRect(x: barX - 1, y: top - 1, width: barW + 2, height: 1, black)
        img.fillRect(x: barX - 1, y: top + mapH, width: barW + 2, height: 1, black)
        img.fillRect(x: barX - 1, y: top - 1, width: 1, height: mapH + 2, black)
        img.fillRect(x: barX + barW, y: top - 1, width: 1, height: mapH + 2, black)
        for (v, label) in zip(ticks, labels) {
            let y = top + Int(((hi - v) / (hi - lo) * Double(mapH - 1)).rounded())
            img.fillRect(x: barX + barW, y: y, width: 5, height: 1, black)
            img.drawText(label, x: barX + barW + 8, y: y - BitmapFont.height * text / 2, scale: text)
        }
        return img
    }

    /// Writes a 2-D grid field.
    public static func write(_ field: GridField, to path: String, title: String? = nil, range: ClosedRange<Double>? = nil) throws {
        guard field.grid.dimension == 2 else {
            throw PDEError.invalidValue(key: "heat map field", value: "\(field.grid.dimension)-D", expected: "a 2-D grid field")
        }
        try write(values: field.values, width: field.grid.counts[0], height: field.grid.counts[1], to: path, title: title, range: range)
    }

    /// About five or six round tick values covering [lo, hi], always including both ends.
    static func tickValues(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 5
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var ticks = [lo]
        var v = (lo / step).rounded(.up) * step
        while v < hi - 0.25 * step {
            if v > lo + 0.25 * step { ticks.append(abs(v) < 1e-9 * step ? 0 : v) }
            v += step
        }
        ticks.append(hi)
        return ticks
    }

    /// Compact labels: 4 significant digits, exponent form for very large/small magnitudes.
    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-3 { return String(format: "%.2e", v) }
        var s = String(format: "%.4g", v)
        if s == "-0" { s = "0" }
        return s
    }
}

/// Reading PNG images (grayscale conversion), e.g. the sample images in `shared/data`.
public enum PNGImage {
    /// The largest image `readGray` accepts: 2^28 pixels (16384 × 16384).
    public static let maximumPixelCount = 1 << 28

    /// Gray values in [0, 1], rows top to bottom. Color images are converted to gray
    /// (libpng's sRGB luminance), transparent pixels are composited onto white. A file
    /// libpng rejects (truncated, corrupt, not a PNG) or an image of more than
    /// `maximumPixelCount` pixels throws `PDEError.malformedFile` naming the file and why.
    public static func readGray(_ path: String) throws -> (values: [Double], width: Int, height: Int) {
        guard FileManager.default.fileExists(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw PDEError.fileNotFound(path: path) }
        var buf: UnsafeMutablePointer<UInt8>?
        var w: UInt32 = 0, h: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            swiftpde_png_decode_gray8(raw.baseAddress, raw.count, maximumPixelCount, &buf, &w, &h, &message, message.count)
        }
        switch status {
        case 0: break
        case 3:
            throw PDEError.malformedFile(path: path, line: nil,
                reason: "image of \(w)×\(h) pixels (expected at most \(maximumPixelCount) pixels, and at least 1)")
        case 4:
            throw PDEError.libraryFailure(library: "libpng", reason: "out of memory decoding \(w)×\(h) pixels of \(path)")
        default:
            let why = String(decoding: message.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PDEError.malformedFile(path: path, line: nil, reason: "not a valid PNG image (libpng: \(why.isEmpty ? "unknown error" : why))")
        }
        guard let buf else { throw PDEError.libraryFailure(library: "libpng", reason: "no pixels returned for \(path)") }
        defer { free(buf) }
        let n = Int(w) * Int(h)
        let values = [Double](unsafeUninitializedCapacity: n) { out, initialized in
            for i in 0..<n { out[i] = Double(buf[i]) / 255 }
            initialized = n
        }
        return (values, Int(w), Int(h))
    }
}

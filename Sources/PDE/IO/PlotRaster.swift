import Foundation

/// PNG output of line plots: the SVG plot drawn into an `RGBImage` with the built-in 5×7
/// font, so apps can write a picture without external tools. The data checks, axis ranges,
/// ticks, frame and palette are the SVG renderer's (`SVGLinePlot.layout()`).
extension SVGLinePlot {
    /// The plot as an image of `Int(width)` × `Int(height)` pixels: white background, light
    /// grid lines and black tick marks at the SVG's ticks with their labels, the frame, the
    /// title, the axis labels (the y label written upwards), each series as an anti-aliased
    /// 2-pixel polyline in the SVG's palette color, and the legend on the right.
    ///
    /// Points that cannot be drawn (non-finite, or ≤ 0 on a log axis) are skipped, as in
    /// `render()`. Text the font lacks is transliterated where sensible (lower case drawn
    /// upper case, `‖` as `|`, accents dropped) and drawn as `?` otherwise.
    ///
    /// Throws `PDEError.shapeMismatch` for a series whose x and y lengths differ,
    /// `PDEError.invalidValue` when no point at all can be drawn, and
    /// `PDEError.invalidValue` (key "plot size") when `width` or `height` is not a number
    /// from 1 to 16384 pixels.
    public func rasterize() throws -> RGBImage {
        let l = try layout()
        let maxSide = Double(SVGLinePlot.maximumRasterSide)
        guard width >= 1, width < maxSide + 1, height >= 1, height < maxSide + 1 else {
            throw PDEError.invalidValue(key: "plot size", value: "\(width) × \(height)",
                                        expected: "a width and height from 1 to \(SVGLinePlot.maximumRasterSide) pixels")
        }
        var img = RGBImage(width: Int(width), height: Int(height))
        let (w, h) = (img.width, img.height)
        let black: (UInt8, UInt8, UInt8) = (0, 0, 0)
        let gray: (UInt8, UInt8, UInt8) = (221, 221, 221)  // the SVG's #ddd
        let fl = SVGLinePlot.pixel(l.left), fr = SVGLinePlot.pixel(l.right)
        let ft = SVGLinePlot.pixel(l.top), fb = SVGLinePlot.pixel(l.bottom)
        let xTicks = l.xTicks.map { (SVGLinePlot.pixel(l.px($0.0)), $0.1) }
        let yTicks = l.yTicks.map { (SVGLinePlot.pixel(l.py($0.0)), $0.1) }

        // Grid, then the frame over it, then the data over both (the SVG's order, except that
        // the frame stays black where a grid line meets it).
        for (c, _) in xTicks { img.fillRect(x: c, y: ft + 1, width: 1, height: fb - ft - 1, gray) }
        for (r, _) in yTicks { img.fillRect(x: fl + 1, y: r, width: fr - fl - 1, height: 1, gray) }
        img.fillRect(x: fl, y: ft, width: fr - fl + 1, height: 1, black)
        img.fillRect(x: fl, y: fb, width: fr - fl + 1, height: 1, black)
        img.fillRect(x: fl, y: ft, width: 1, height: fb - ft + 1, black)
        img.fillRect(x: fr, y: ft, width: 1, height: fb - ft + 1, black)

        var ink = Coverage(width: w, height: h)
        for (k, p) in l.points.enumerated() where !p.isEmpty {
            let color = SVGLinePlot.paletteRGB[k % SVGLinePlot.paletteRGB.count]
            // Runs of points with finite canvas coordinates (an overflowing axis range can
            // make some NaN); butt caps at the ends of a run, round joins inside, as SVG's
            // default caps with a join that leaves no notch.
            var run: [(Double, Double)] = []
            for q in p.map({ (l.px($0.0), l.py($0.1)) }) + [(Double.nan, Double.nan)] {
                if q.0.isFinite && q.1.isFinite { run.append(q); continue }
                for i in run.indices.dropLast() {
                    ink.stroke(run[i], run[i + 1], halfWidth: 1, buttStart: i == 0, buttEnd: i + 2 == run.count)
                }
                run.removeAll(keepingCapacity: true)
            }
            ink.composite(onto: &img, color: color)
        }

        // Tick marks and labels, title, axis labels, legend.
        for (c, label) in xTicks {
            img.fillRect(x: c, y: fb + 1, width: 1, height: 4, black)
            SVGLinePlot.drawText(label, centeredAt: c, top: fb + 7, scale: 1, in: &img)
        }
        for (r, label) in yTicks {
            img.fillRect(x: fl - 4, y: r, width: 4, height: 1, black)
            let t = SVGLinePlot.fontText(label)
            img.drawText(t, x: fl - 6 - BitmapFont.textWidth(t, scale: 1), y: r - BitmapFont.height / 2)
        }
        let mid = SVGLinePlot.pixel((l.left + l.right) / 2)
        let margins = 4..<max(4, w - 4)
        let titleScale = SVGLinePlot.fits(title, scale: 2, in: w - 8) ? 2 : 1
        SVGLinePlot.drawText(title, centeredAt: mid, top: 22 - BitmapFont.height * titleScale, scale: titleScale,
                             in: &img, within: margins)
        let xScale = SVGLinePlot.fits(xLabel, scale: 2, in: fr - fl) ? 2 : 1
        SVGLinePlot.drawText(xLabel, centeredAt: mid, top: SVGLinePlot.pixel(height - 18) - BitmapFont.height * xScale,
                             scale: xScale, in: &img, within: margins)
        let yScale = SVGLinePlot.fits(yLabel, scale: 2, in: fb - ft) ? 2 : 1
        SVGLinePlot.drawTextUpwards(yLabel, baseline: 18, centeredAt: SVGLinePlot.pixel((l.top + l.bottom) / 2),
                                    scale: yScale, in: &img)
        for (k, p) in l.points.enumerated() where !p.isEmpty {
            let ly = l.top + 14 + Double(k) * 18
            img.fillRect(x: SVGLinePlot.pixel(l.right + 12), y: SVGLinePlot.pixel(ly - 5), width: 24, height: 2,
                         SVGLinePlot.paletteRGB[k % SVGLinePlot.paletteRGB.count])
            let x = SVGLinePlot.pixel(l.right + 42)
            let t = SVGLinePlot.truncated(SVGLinePlot.fontText(series[k].label), scale: 1, to: w - x)
            img.drawText(t, x: x, y: SVGLinePlot.pixel(ly) - BitmapFont.height)
        }
        return img
    }

    /// Rasterizes the plot (see `rasterize()`, which names the errors) and writes it as a PNG
    /// file atomically: the image goes to a temporary file renamed into place, so a failure
    /// never leaves a half-written picture. Also throws `PDEError.writeFailed` when the file
    /// cannot be written.
    public func writePNG(to path: String) throws {
        try rasterize().writePNG(to: path)
    }

    /// The largest width or height `rasterize()` accepts (as `PNGImage.readGray` reads).
    static let maximumRasterSide = 16384

    /// `palette` as RGB bytes, parsed once.
    static let paletteRGB: [(UInt8, UInt8, UInt8)] = palette.map { hex in
        let v = UInt32(hex.dropFirst(), radix: 16) ?? 0
        return (UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff))
    }

    /// The pixel (column or row) that contains canvas coordinate `v`, clamped to ±2³⁰ so that
    /// no coordinate can trap; NaN maps to the clamp (off any image).
    static func pixel(_ v: Double) -> Int {
        guard v.isFinite else { return -(1 << 30) }
        return Int(min(Double(1 << 30), max(-Double(1 << 30), v.rounded(.down))))
    }

    /// Characters the font lacks, and what is drawn instead.
    static let substitutes: [Character: String] = [
        "‖": "|", "−": "-", "–": "-", "—": "-", "×": "X", "·": ".", "…": "...", "±": "+-",
        "‘": "'", "’": "'", "“": "\"", "”": "\"", "{": "(", "}": ")", "→": "->", "←": "<-", "&": "AND",
        "⁻": "-", "⁰": "0", "¹": "1", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9",
        "∞": "INF", "≈": "=", "≠": "!=", "∇": "GRAD", "Δ": "D",
        "α": "A", "β": "B", "γ": "G", "δ": "D", "ε": "E", "η": "H", "κ": "K", "λ": "L", "μ": "U",
        "ν": "V", "π": "PI", "ρ": "P", "σ": "S", "τ": "T", "φ": "PH", "ψ": "PS", "ω": "W",
    ]

    /// `text` with every character replaced by ones the 5×7 font has: kept if the font has it,
    /// else a substitute, its upper or lower case, the letter without accents, a space for
    /// white space, and `?` for anything else (never the font's fallback box).
    static func fontText(_ text: String) -> String {
        func drawable(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy { BitmapFont.glyphs[$0] != nil } }
        var out = ""
        for ch in text {
            let s = String(ch)
            if BitmapFont.glyphs[ch] != nil { out.append(ch); continue }
            if let sub = substitutes[ch] { out += sub; continue }
            let candidates = [s.uppercased(), s.lowercased(),
                              s.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil).uppercased()]
            if let t = candidates.first(where: drawable) { out += t; continue }
            out += ch.isWhitespace ? " " : "?"
        }
        return out
    }

    /// Whether `text` (after `fontText`) is at most `room` pixels wide at `scale`.
    static func fits(_ text: String, scale: Int, in room: Int) -> Bool {
        BitmapFont.textWidth(fontText(text), scale: scale) <= room
    }

    /// The longest prefix of `text` (already drawable) at most `room` pixels wide at `scale`.
    static func truncated(_ text: String, scale: Int, to room: Int) -> String {
        let advance = (BitmapFont.width + 1) * scale
        return String(text.prefix(max(0, (room + scale) / advance)))
    }

    /// Draws `text` centered on column `center`, shifted and then truncated to stay within
    /// the columns `within` (the whole line is kept when nothing is given).
    static func drawText(_ text: String, centeredAt center: Int, top: Int, scale: Int, in img: inout RGBImage,
                         within: Range<Int>? = nil) {
        var t = fontText(text)
        var x = center - BitmapFont.textWidth(t, scale: scale) / 2
        if let within {
            t = truncated(t, scale: scale, to: within.count)
            x = max(within.lowerBound, min(x, within.upperBound - BitmapFont.textWidth(t, scale: scale)))
        }
        img.drawText(t, x: x, y: top, scale: scale)
    }

    /// Draws `text` rotated a quarter turn counter-clockwise (read bottom to top, as the SVG's
    /// y label), glyph bottoms on column `baseline`, centered on row `center`.
    static func drawTextUpwards(_ text: String, baseline: Int, centeredAt center: Int, scale: Int, in img: inout RGBImage) {
        let t = fontText(text)
        let bottom = center + BitmapFont.textWidth(t, scale: scale) / 2
        let left = baseline - BitmapFont.height * scale
        for (i, ch) in t.enumerated() {
            for (row, bits) in BitmapFont.glyph(ch).enumerated() {
                for (col, b) in bits.enumerated() where b == "#" {
                    img.fillRect(x: left + row * scale, y: bottom - (i * (BitmapFont.width + 1) + col + 1) * scale,
                                 width: scale, height: scale, (0, 0, 0))
                }
            }
        }
    }
}

/// Anti-aliased line coverage of one series (0 … 1 per pixel), composited onto an image once
/// the whole polyline is stroked, so that overlapping segments at a join do not darken it.
private struct Coverage {
    let width: Int, height: Int
    var alpha: [Double]
    /// The rectangle of pixels touched since the last `composite` (empty when lo > hi).
    var xLo = Int.max, xHi = Int.min, yLo = Int.max, yHi = Int.min

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        alpha = [Double](repeating: 0, count: width * height)
    }

    /// Adds the segment a → b of a stroke `2 · halfWidth` wide (canvas coordinates, pixel (i, j)
    /// covering [i, i+1) × [j, j+1)). Coverage is exact at pixel centers up to a half-pixel
    /// ramp across the stroke's edge; a butt end stops the stroke at the end point, an open end
    /// is rounded (the join with the next segment). Only pixels of the image are visited, along
    /// the segment's major axis, so the cost is about the length times a few pixels.
    mutating func stroke(_ a: (Double, Double), _ b: (Double, Double), halfWidth: Double, buttStart: Bool, buttEnd: Bool) {
        let (ax, ay, bx, by) = (a.0, a.1, b.0, b.1)
        let dx = bx - ax, dy = by - ay
        let len2 = dx * dx + dy * dy
        guard len2 > 0, len2.isFinite, width > 0, height > 0 else { return }  // SVG draws nothing for zero length
        let len = len2.squareRoot()
        let reach = halfWidth + 0.5  // no coverage beyond this distance from the segment
        let band = 2.5 * reach + 1   // covers the stroke across the minor axis (|slope| ≤ 1)
        func clamp01(_ v: Double) -> Double { min(1, max(0, v)) }
        func index(_ v: Double, _ n: Int) -> Int { min(n - 1, max(0, SVGLinePlot.pixel(v))) }
        func cover(_ x: Double, _ y: Double) -> Double {
            let ux = x - ax, uy = y - ay
            let along = (ux * dx + uy * dy) / len
            if along < 0 && !buttStart { return clamp01(reach - (ux * ux + uy * uy).squareRoot()) }
            if along > len && !buttEnd { return clamp01(reach - ((x - bx) * (x - bx) + (y - by) * (y - by)).squareRoot()) }
            var c = clamp01(reach - abs(ux * dy - uy * dx) / len)
            if buttStart { c *= clamp01(along + 0.5) }
            if buttEnd { c *= clamp01(len - along + 0.5) }
            return c
        }
        let horizontal = abs(dx) >= abs(dy)
        let (majorA, majorB, n, m) = horizontal ? (ax, bx, width, height) : (ay, by, height, width)
        let (dMajor, dMinor, minorA) = horizontal ? (dx, dy, ay) : (dy, dx, ax)
        let lo = index(min(majorA, majorB) - reach - 1, n), hi = index(max(majorA, majorB) + reach + 1, n)
        for i in lo...hi {
            let center = Double(i) + 0.5
            let t = min(1, max(0, (center - majorA) / dMajor))
            let onLine = minorA + t * dMinor
            for j in index(onLine - band, m)...index(onLine + band, m) {
                let (x, y) = horizontal ? (i, j) : (j, i)
                let c = cover(Double(x) + 0.5, Double(y) + 0.5)
                guard c > 0 else { continue }
                let k = y &* width &+ x
                alpha[k] = max(alpha[k], c)
                xLo = min(xLo, x); xHi = max(xHi, x); yLo = min(yLo, y); yHi = max(yHi, y)
            }
        }
    }

    /// Blends `color` onto `img` with the accumulated coverage, then clears it.
    mutating func composite(onto img: inout RGBImage, color: (UInt8, UInt8, UInt8)) {
        guard xLo <= xHi, yLo <= yHi else { return }
        func mix(_ under: UInt8, _ over: UInt8, _ a: Double) -> UInt8 {
            UInt8((Double(under) * (1 - a) + Double(over) * a).rounded())
        }
        for y in yLo...yHi {
            for x in xLo...xHi {
                let k = y &* width &+ x
                let a = alpha[k]
                guard a > 0 else { continue }
                let p = 3 &* k
                img.pixels[p] = mix(img.pixels[p], color.0, a)
                img.pixels[p &+ 1] = mix(img.pixels[p &+ 1], color.1, a)
                img.pixels[p &+ 2] = mix(img.pixels[p &+ 2], color.2, a)
                alpha[k] = 0
            }
        }
        (xLo, xHi, yLo, yHi) = (Int.max, Int.min, Int.max, Int.min)
    }
}

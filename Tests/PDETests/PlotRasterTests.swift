import Foundation
import Testing
@testable import PDE

@Suite struct PlotRasterTests {
    /// The palette's first color (#1f77b4).
    static let blue: (UInt8, UInt8, UInt8) = (0x1f, 0x77, 0xb4)

    static func rgb(_ img: RGBImage, _ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let k = 3 * (y * img.width + x)
        return (img.pixels[k], img.pixels[k + 1], img.pixels[k + 2])
    }

    static func has(_ img: RGBImage, _ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) -> Bool {
        let k = 3 * (y * img.width + x)
        return img.pixels[k] == c.0 && img.pixels[k + 1] == c.1 && img.pixels[k + 2] == c.2
    }

    static func isBlue(_ img: RGBImage, _ x: Int, _ y: Int) -> Bool { has(img, x, y, blue) }

    @Test func imageHasThePlotSize() throws {
        var p = SVGLinePlot(title: "Size", xLabel: "x", yLabel: "y")
        p.series.append(.init(label: "s", y: [3, 1, 2]))
        let img = try p.rasterize()
        #expect(img.width == 720 && img.height == 480 && img.pixels.count == 3 * 720 * 480)
        p.width = 401
        p.height = 333.7
        let small = try p.rasterize()
        #expect(small.width == 401 && small.height == 333)
        #expect(Self.rgb(small, 0, 0) == (255, 255, 255))
    }

    @Test func constantSeriesIsOneBlueLineInsideTheFrame() throws {
        var p = SVGLinePlot(title: "Constant", xLabel: "x", yLabel: "y")
        p.series.append(.init(label: "y = 5", x: [0, 1, 2, 3], y: [5, 5, 5, 5]))
        let img = try p.rasterize()
        let l = try p.layout()
        let (left, right, top, bottom) = (Int(l.left), Int(l.right), Int(l.top), Int(l.bottom))
        let row = Int(l.py(5))  // the line is centered on this pixel boundary: rows row − 1 and row
        #expect(row > top + 1 && row < bottom - 1)
        // Every interior column of the frame is blue in the line's two rows, nothing else in the frame.
        #expect((left + 1..<right).allSatisfy { Self.isBlue(img, $0, row - 1) && Self.isBlue(img, $0, row) })
        var blueInside = 0, blueOutside: [(Int, Int)] = []
        let legend = (x: Int(l.right) + 12..<Int(l.right) + 36, y: Int(l.top) + 9..<Int(l.top) + 11)
        for y in 0..<img.height {
            for x in 0..<img.width where Self.isBlue(img, x, y) {
                if x >= left && x <= right && y >= top && y <= bottom {
                    blueInside += 1
                    #expect(y == row - 1 || y == row, "blue pixel at (\(x), \(y)) off the line")
                } else if !(legend.x.contains(x) && legend.y.contains(y)) {
                    blueOutside.append((x, y))
                }
            }
        }
        #expect(blueInside >= 2 * (right - left - 1))
        #expect(blueOutside.isEmpty, "blue outside the frame and legend at \(blueOutside.prefix(5))")
        // The legend swatch is there, in the series color.
        #expect(legend.x.allSatisfy { Self.isBlue(img, $0, legend.y.lowerBound) })
    }

    @Test func secondSeriesUsesSecondPaletteColorAndTextIsDrawn() throws {
        var p = SVGLinePlot(title: "Two ‖r‖ ≤ θ", xLabel: "x", yLabel: "y")
        p.series.append(.init(label: "a", x: [0, 1], y: [0, 1]))
        p.series.append(.init(label: "ß é 日本", x: [0, 1], y: [1, 0]))
        let img = try p.rasterize()
        let red: (UInt8, UInt8, UInt8) = (0xd6, 0x27, 0x28)
        var reds = 0, blacksAboveFrame = 0
        for y in 0..<img.height { for x in 0..<img.width where Self.has(img, x, y, red) { reds += 1 } }
        for y in 0..<39 { for x in 0..<img.width where Self.has(img, x, y, (0, 0, 0)) { blacksAboveFrame += 1 } }
        #expect(reds > 400)             // a diagonal across the frame, 2 px wide
        #expect(blacksAboveFrame > 50)  // the title
        #expect(SVGLinePlot.fontText("‖r‖ ≤ θ, ß é 日 & Δt") == "|R| ≤ θ, SS E ? AND DT")
    }

    @Test func logAxisWithNonPositiveValuesStillRenders() throws {
        var p = SVGLinePlot(title: "Residuals", xLabel: "iteration", yLabel: "‖r‖ / ‖b‖", logY: true)
        p.series.append(.init(label: "cg", y: [1, 1e-2, 0, -3, 1e-6, .nan, 1e-9]))
        let img = try p.rasterize()
        #expect(img.width == 720 && img.height == 480)
        let l = try p.layout()
        #expect(l.points[0].count == 4 && l.y0 == -9 && l.y1 == 0)
        #expect(l.yTicks.map(\.1) == (-9...0).map { "1e\($0)" })
        // The first point (1 at iteration 0) is at the top-left corner of the frame.
        let (x, y) = (Int(l.px(0)), Int(l.py(0)))
        #expect(Self.isBlue(img, x + 1, y) || Self.isBlue(img, x + 1, y + 1))
        // Only non-positive data: nothing can be drawn.
        var q = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y", logX: true)
        q.series.append(.init(label: "s", x: [0, -1], y: [1, 2]))
        #expect { try q.rasterize() } throws: { e in
            guard case PDEError.invalidValue(let key, _, _) = e else { return false }
            return key == "plot data"
        }
    }

    @Test func mismatchedSeriesLengthsThrowShapeMismatch() {
        var p = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y")
        p.series.append(.init(label: "ok", y: [1, 2]))
        p.series.append(.init(label: "bad", x: [0, 1, 2], y: [1, 2]))
        #expect { try p.rasterize() } throws: { e in
            guard case PDEError.shapeMismatch(let what, _, let got) = e else { return false }
            return what.contains("bad") && got == "3"
        }
        #expect(throws: PDEError.self) { try p.writePNG(to: makeTemporaryFolder() + "/never.png") }
    }

    @Test func nonFiniteDataThrowsInvalidValue() {
        var p = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y")
        p.series.append(.init(label: "nan", x: [.nan, 1, .infinity], y: [1, .nan, 2]))
        p.series.append(.init(label: "inf", y: [-.infinity, .infinity]))
        #expect { try p.rasterize() } throws: { e in
            guard case PDEError.invalidValue(let key, let value, _) = e else { return false }
            return key == "plot data" && value == "no drawable points"
        }
        // The SVG renderer agrees.
        #expect(throws: PDEError.invalidValue(key: "plot data", value: "no drawable points",
                                             expected: "finite values (positive on log axes)")) { try p.render() }
    }

    @Test func unusableCanvasSizeThrowsInvalidValue() {
        for (w, h) in [(Double.nan, 480.0), (720, 0.5), (720, .infinity), (20000, 480)] {
            var p = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y")
            p.series.append(.init(label: "s", y: [1, 2]))
            p.width = w
            p.height = h
            #expect { try p.rasterize() } throws: { e in
                guard case PDEError.invalidValue(let key, _, _) = e else { return false }
                return key == "plot size"
            }
        }
        // Tiny and extreme-range plots render without trapping (text and lines are clipped).
        var tiny = SVGLinePlot(title: "a long title that does not fit", xLabel: "x", yLabel: "y")
        tiny.series.append(.init(label: "s", x: [-1e308, 0, 1e308], y: [1e-300, 1e308, -1e308]))
        tiny.width = 3
        tiny.height = 2
        #expect((try? tiny.rasterize())?.width == 3)
        tiny.width = 720
        tiny.height = 480
        #expect((try? tiny.rasterize())?.height == 480)
    }

    @Test func writePNGWritesAPNGFileOfThePlotSize() throws {
        let dir = makeTemporaryFolder()
        var p = SVGLinePlot(title: "Convergence", xLabel: "h", yLabel: "error", logX: true, logY: true)
        p.width = 640
        p.height = 400
        p.series.append(.init(label: "P1", x: [0.1, 0.05, 0.025], y: [1e-2, 2.5e-3, 6.25e-4]))
        p.series.append(.init(label: "slope 2", x: [0.1, 0.025], y: [2e-2, 1.25e-3]))
        let path = dir + "/plot.png"
        try p.writePNG(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let back = try PNGImage.readGray(path)
        #expect(back.width == 640 && back.height == 400)
        #expect(back.values.contains { $0 < 0.2 } && back.values.contains { $0 == 1 })
        // No temporary file is left next to it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["plot.png"])
    }

    @Test func svgTicksStopOnANarrowRangeFarFromZero() {
        // 1e16 and 1e16 + 2 are neighbouring doubles: a 0.5 step cannot advance between them.
        let t = SVGLinePlot.ticks(1e16, 1e16 + 2, log: false)
        #expect(!t.isEmpty && t.count < 10)
    }

    @Test func glyphsOfTwoLetterUpperCasesDoNotCrash() {
        // "ß".uppercased() is "SS": the font falls back to its box instead of trapping.
        #expect(BitmapFont.glyph("ß") == BitmapFont.glyph("\u{2603}"))
        #expect(BitmapFont.glyph("a") == BitmapFont.glyph("A"))
    }
}

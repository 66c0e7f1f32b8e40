/// Sampling a P1 mesh field on a regular raster (for heat-map pictures of mesh solutions).
extension MeshField {
    /// Values of the piecewise-linear field at the centres of a width × height raster over
    /// the mesh's bounding box (row 0 at the lowest y); NaN outside the mesh.
    public func rasterized(width: Int, height: Int) -> [Double] {
        let xs = mesh.vertices.map(\.x), ys = mesh.vertices.map(\.y)
        let (x0, x1, y0, y1) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
        let dx = (x1 - x0) / Double(width), dy = (y1 - y0) / Double(height)
        var out = [Double](repeating: .nan, count: width * height)
        for t in mesh.triangles {
            let a = mesh.vertices[Int(t[0])], b = mesh.vertices[Int(t[1])], c = mesh.vertices[Int(t[2])]
            let area2 = (b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y)
            let i0 = max(0, Int(((min(a.x, b.x, c.x) - x0) / dx).rounded(.down)))
            let i1 = min(width - 1, Int(((max(a.x, b.x, c.x) - x0) / dx).rounded(.up)))
            let j0 = max(0, Int(((min(a.y, b.y, c.y) - y0) / dy).rounded(.down)))
            let j1 = min(height - 1, Int(((max(a.y, b.y, c.y) - y0) / dy).rounded(.up)))
            guard i0 <= i1, j0 <= j1 else { continue }
            for j in j0...j1 {
                let py = y0 + (Double(j) + 0.5) * dy
                for i in i0...i1 {
                    let px = x0 + (Double(i) + 0.5) * dx
                    let l1 = ((c.x - b.x) * (py - b.y) - (px - b.x) * (c.y - b.y)) / area2
                    let l2 = ((a.x - c.x) * (py - c.y) - (px - c.x) * (a.y - c.y)) / area2
                    let l3 = 1 - l1 - l2
                    let eps = -1e-12
                    if l1 >= eps && l2 >= eps && l3 >= eps {
                        out[j * width + i] = l1 * values[Int(t[0])] + l2 * values[Int(t[1])] + l3 * values[Int(t[2])]
                    }
                }
            }
        }
        return out
    }
}

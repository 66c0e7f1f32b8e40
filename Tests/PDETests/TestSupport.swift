import Foundation
@testable import PDE
@_exported import TestSupport

/// The 1-D Dirichlet Laplacian tridiag(−1, 2, −1) of size n.
func laplacian1D(_ n: Int) -> CSRMatrix {
    var b = COOBuilder(rows: n, columns: n)
    for i in 0..<n {
        b.add(i, i, 2)
        if i > 0 { b.add(i, i - 1, -1) }
        if i + 1 < n { b.add(i, i + 1, -1) }
    }
    return b.build()
}

/// 2-D 5-point Laplacian on n×n interior nodes (unscaled), with an optional varying
/// diagonal shift (SPD, not a pure stencil), built inline so solver tests do not depend on
/// the discretization module.
func poisson2DMatrix(_ n: Int, shift: Double = 0) -> CSRMatrix {
    var b = COOBuilder(rows: n * n, columns: n * n)
    for j in 0..<n { for i in 0..<n {
        let r = i + n * j
        b.add(r, r, 4 + shift * Double((i * 7 + j * 3) % 5))
        if i > 0 { b.add(r, r - 1, -1) }
        if i + 1 < n { b.add(r, r + 1, -1) }
        if j > 0 { b.add(r, r - n, -1) }
        if j + 1 < n { b.add(r, r + n, -1) }
    } }
    return b.build()
}

/// Matrix products through BLAS.
extension Tensor {
    /// The matrix product of the last two axes, batched over the leading axes:
    /// [..., m, k] × [..., k, n] → [..., m, n]. Either side may be rank 2 (shared by the
    /// whole batch); otherwise the batch shapes must be equal. `transposeA`/`transposeB`
    /// use the transpose of the last two axes.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else {
            throw LearningError.shapeMismatch(operation: "matmul", expected: "tensors of rank ≥ 2",
                                              got: "\(shapeString(a.shape)) and \(shapeString(b.shape))")
        }
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        guard k == k2, batchA == batchB || batchA.isEmpty || batchB.isEmpty else {
            throw LearningError.shapeMismatch(operation: "matmul", expected: "inner dimensions that agree and equal batch shapes",
                                              got: "\(shapeString(a.shape))\(transposeA ? "ᵀ" : "") × \(shapeString(b.shape))\(transposeB ? "ᵀ" : "")")
        }
        let batch = batchA.isEmpty ? batchB : batchA
        let count = batch.reduce(1, *)
        let strideA = batchA.isEmpty ? 0 : ar * ac, strideB = batchB.isEmpty ? 0 : br * bc
        // A shared right factor and no transpose of A: one GEMM over all rows.
        if strideB == 0 && !transposeA && count > 1 {
            return Tensor(uninitializedShape: batch + [m, n]) { c in
                a.scalars.withUnsafeBufferPointer { pa in b.scalars.withUnsafeBufferPointer { pb in
                    T.gemm(transA: false, transB: transposeB, m: count * m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: ac,
                           b: pb.baseAddress!, ldb: bc, beta: 0, c: c, ldc: n)
                } }
            }
        }
        return Tensor(uninitializedShape: batch + [m, n]) { c in
            a.scalars.withUnsafeBufferPointer { pa in b.scalars.withUnsafeBufferPointer { pb in
                for i in 0..<count {
                    T.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: 1,
                           a: pa.baseAddress! + i * strideA, lda: ac, b: pb.baseAddress! + i * strideB, ldb: bc,
                           beta: 0, c: c + i * m * n, ldc: n)
                }
            } }
        }
    }
}

/// Threaded BLAS-1 style kernels for the Krylov solvers. Reductions sum per-chunk partial
/// results in chunk order, so results do not depend on thread timing (they do depend on
/// `Parallel.workerCount`).
public enum VectorKernels {
    /// Minimum items per chunk: about 0.1 ms of streaming work.
    static let grain = 32_768

    /// Runs `body(start, end) -> partial` over chunks and sums the partials in order.
    @inline(__always)
    static func reduce(_ n: Int, _ body: (Int, Int) -> Double) -> Double {
        let workers = min(Parallel.workerCount, max(1, n / grain))
        if workers <= 1 { return n > 0 ? body(0, n) : 0 }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: workers) { partial in
            let p = partial.baseAddress!
            let chunk = (n + workers - 1) / workers
            Parallel.forChunks(workers, minimumPerChunk: 1) { ws, we in
                for w in ws..<we {
                    let s = w * chunk, e = min(n, s + chunk)
                    p[w] = s < e ? body(s, e) : 0
                }
            }
            var total = 0.0
            for w in 0..<workers { total += p[w] }
            return total
        }
    }

    /// Runs `body(start, end)` over chunks of `0..<n` in parallel.
    @inline(__always)
    static func forEachChunk(_ n: Int, _ body: (Int, Int) -> Void) {
        Parallel.forChunks(n, minimumPerChunk: grain, body)
    }

    /// a · b
    public static func dot(_ a: [Double], _ b: [Double]) -> Double {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                let pa = ap.baseAddress!, pb = bp.baseAddress!
                return reduce(ap.count) { s, e in
                    var acc = 0.0
                    var i = s
                    while i < e { acc += pa[i] * pb[i]; i &+= 1 }
                    return acc
                }
            }
        }
    }

    /// ‖a‖₂ (no scaling; for solver iterates, which stay well inside Double's range).
    public static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

    /// x ← x + α p;  r ← r − α q;  returns r · r.
    public static func cgUpdate(x: inout [Double], r: inout [Double], p: [Double], q: [Double], alpha: Double) -> Double {
        let n = x.count
        return p.withUnsafeBufferPointer { pp in
            q.withUnsafeBufferPointer { qp in
                x.withUnsafeMutableBufferPointer { xp in
                    r.withUnsafeMutableBufferPointer { rp in
                        let px = xp.baseAddress!, pr = rp.baseAddress!, ppp = pp.baseAddress!, pq = qp.baseAddress!
                        return reduce(n) { s, e in
                            var acc = 0.0
                            var i = s
                            while i < e {
                                px[i] += alpha * ppp[i]
                                let ri = pr[i] - alpha * pq[i]
                                pr[i] = ri
                                acc += ri * ri
                                i &+= 1
                            }
                            return acc
                        }
                    }
                }
            }
        }
    }

    /// p ← z + β p.
    public static func xpay(_ z: [Double], beta: Double, _ p: inout [Double]) {
        let n = p.count
        z.withUnsafeBufferPointer { zp in
            p.withUnsafeMutableBufferPointer { pp in
                let pz = zp.baseAddress!, ppp = pp.baseAddress!
                forEachChunk(n) { s, e in
                    var i = s
                    while i < e { ppp[i] = pz[i] + beta * ppp[i]; i &+= 1 }
                }
            }
        }
    }

    /// z ← d ⊙ r; returns r · z.
    public static func scaleAndDot(_ d: [Double], _ r: [Double], into z: inout [Double]) -> Double {
        let n = z.count
        return d.withUnsafeBufferPointer { dp in
            r.withUnsafeBufferPointer { rp in
                z.withUnsafeMutableBufferPointer { zp in
                    let pd = dp.baseAddress!, pr = rp.baseAddress!, pz = zp.baseAddress!
                    return reduce(n) { s, e in
                        var acc = 0.0
                        var i = s
                        while i < e {
                            let zi = pd[i] * pr[i]
                            pz[i] = zi
                            acc += pr[i] * zi
                            i &+= 1
                        }
                        return acc
                    }
                }
            }
        }
    }

    /// r ← b − r (turns r = A x into the residual).
    public static func residualFrom(_ b: [Double], _ r: inout [Double]) {
        let n = r.count
        b.withUnsafeBufferPointer { bp in
            r.withUnsafeMutableBufferPointer { rp in
                let pb = bp.baseAddress!, pr = rp.baseAddress!
                forEachChunk(n) { s, e in
                    var i = s
                    while i < e { pr[i] = pb[i] - pr[i]; i &+= 1 }
                }
            }
        }
    }
}

extension CSRMatrix {
    /// y ← A x and returns x · y in the same pass over the rows (saves a sweep over x and y
    /// in CG, where x = p and pᵀAp is needed next).
    public func applyAndDot(_ x: [Double], into y: inout [Double]) -> Double {
        precondition(x.count == columns && y.count == rows, "CSRMatrix.applyAndDot: size mismatch")
        return rowPointers.withUnsafeBufferPointer { rp in
            columnIndices.withUnsafeBufferPointer { ci in
                values.withUnsafeBufferPointer { va in
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            let rpp = rp.baseAddress!, cip = ci.baseAddress!, vap = va.baseAddress!
                            let px = xp.baseAddress!, py = yp.baseAddress!
                            return VectorKernels.reduce(rows) { start, end in
                                var acc = 0.0
                                var i = start
                                while i < end {
                                    var k = rpp[i]
                                    let ke = rpp[i &+ 1]
                                    var s = 0.0
                                    while k < ke {
                                        s += vap[k] * px[Int(truncatingIfNeeded: cip[k])]
                                        k &+= 1
                                    }
                                    py[i] = s
                                    acc += s * px[i]
                                    i &+= 1
                                }
                                return acc
                            }
                        }
                    }
                }
            }
        }
    }
}

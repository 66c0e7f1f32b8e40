/// STREAM-style memory-bandwidth kernels, threaded like the library's own kernels
/// (`Parallel.forChunks`), so that a kernel's effective bandwidth can be quoted against
/// what this machine can stream in the same run.
public enum MemoryBandwidth {
    /// One STREAM triad a = b + s·c over arrays of length `a.count`. STREAM counts
    /// 24 bytes per element (two reads, one write, no write-allocate).
    public static func triad(_ a: inout [Double], _ b: [Double], _ c: [Double], scalar s: Double) {
        let n = a.count
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeBufferPointer { cp in
                a.withUnsafeMutableBufferPointer { ap in
                    let pa = ap.baseAddress!, pb = bp.baseAddress!, pc = cp.baseAddress!
                    Parallel.forChunks(n, minimumPerChunk: 1 << 16) { start, end in
                        var i = start
                        while i < end {
                            pa[i] = pb[i] + s * pc[i]
                            i &+= 1
                        }
                    }
                }
            }
        }
    }
}

import CFFTW
import Foundation
#if MPI
import CMPI
#endif

/// 2-D incompressible Navier–Stokes (vorticity form, pseudo-spectral; `NavierStokes2D`'s
/// arithmetic, schemes, dealiasing and CFL check) distributed in slabs of y rows over a
/// communicator, through FFTW's MPI real transforms (`fftw_mpi_plan_dft_r2c_2d`, planned with
/// FFTW_MEASURE). The spectrum stays transposed (`FFTW_MPI_TRANSPOSED_OUT`/`_IN`: each rank holds
/// a block of k_x columns for every k_y), which saves two of the three global transposes of
/// every transform pair. Each rank holds its rows of the vorticity, its columns of the half
/// spectrum and of the per-mode factors (computed, not sliced from a whole table); the only
/// communication is inside the transforms and one max-allreduce of the velocity per stage for
/// the CFL check. In one process (or a build without MPI) it runs `NavierStokes2D`'s serial
/// integrator. The result equals the serial solver's to rounding.
public final class DistributedNavierStokes2D {
    /// The configuration (validated as `NavierStokes2D` validates it).
    public let grid: PeriodicGrid
    public let viscosity: Double
    public let timeStep: Double
    public let scheme: NavierStokes2D.Scheme
    public let dealiasing: NavierStokes2D.Dealiasing
    public let cflLimit: Double
    public let communicator: Communicator
    /// This rank's y rows (FFTW's slab), of the field and of the spectrum.
    public let rows: Range<Int>
    /// Steps taken since the last `load`.
    public private(set) var stepCount = 0
    private let n: Int
    private let serial: NavierStokes2D.Integrator?
    #if MPI
    private let m: Int
    private let local: Int                                  // physical rows
    private let spec: Int                                   // complex spectrum values (k_x columns × N)
    private let real: UnsafeMutablePointer<Double>          // padded rows of 2m (the transforms' real array)
    private let spectrum: UnsafeMutablePointer<fftw_complex>
    private let what: UnsafeMutablePointer<Double>          // ŵ, `spec` complex values
    private let wstar: UnsafeMutablePointer<Double>
    private let hat0: UnsafeMutablePointer<Double>
    private let hat1: UnsafeMutablePointer<Double>
    private let phys: UnsafeMutablePointer<Double>          // q, v, w_x, w_y: 4 × local × n
    private let factors: [Double]                           // 7 planes of `spec`
    private let dtForcing: [Double]                         // 2 · spec
    private let r2c: fftw_plan?, c2r: fftw_plan?
    private static let mpiInit: Void = { fftw_mpi_init() }()
    #endif

    /// Plans the transforms over `communicator` (collective). `forcing` holds this rank's rows
    /// (`rows`, which FFTW chooses: call `DistributedNavierStokes2D.rows(pointsPerAxis:communicator:)`
    /// first), x fastest, or nil. Throws what `NavierStokes2D.init` throws, `.shapeMismatch` for
    /// a forcing of the wrong size, and `.invalidValue` when a rank would get no row.
    public init(grid: PeriodicGrid, viscosity: Double, timeStep: Double, scheme: NavierStokes2D.Scheme = .crankNicolsonEuler,
                forcing: [Double]? = nil, dealiasing: NavierStokes2D.Dealiasing = .twoThirds, cflLimit: Double = 1,
                communicator: Communicator) throws {
        try NavierStokes2D.validate(grid: grid, viscosity: viscosity, timeStep: timeStep, cflLimit: cflLimit)
        self.grid = grid
        self.viscosity = viscosity
        self.timeStep = timeStep
        self.scheme = scheme
        self.dealiasing = dealiasing
        self.cflLimit = cflLimit
        self.communicator = communicator
        n = grid.counts[0]
        let myRows = try DistributedNavierStokes2D.rows(pointsPerAxis: n, communicator: communicator)
        rows = myRows
        if let forcing {
            guard forcing.count == myRows.count * n else {
                throw PDEError.shapeMismatch(what: "Navier–Stokes forcing on rank \(communicator.rank)",
                                             expected: "\(myRows.count * n) values (rows \(myRows), x fastest)", got: "\(forcing.count)")
            }
            if let i = forcing.firstIndex(where: { !$0.isFinite }) {
                throw PDEError.invalidValue(key: "Navier–Stokes forcing[\(i)]", value: "\(forcing[i])", expected: "finite values")
            }
        }
        #if MPI
        if let comm = communicator.handle, communicator.size > 1 {
            _ = DistributedNavierStokes2D.mpiInit
            serial = nil
            m = n / 2 + 1
            local = myRows.count
            var localN0 = 0, start0 = 0, localN1 = 0, start1 = 0
            let alloc = max(1, fftw_mpi_local_size_2d_transposed(n, m, comm, &localN0, &start0, &localN1, &start1))
            spec = localN1 * n
            real = fftw_alloc_real(2 * alloc)!
            spectrum = fftw_alloc_complex(alloc)!
            func buffer(_ count: Int) -> UnsafeMutablePointer<Double> {
                let p = fftw_alloc_real(max(1, count))!
                p.initialize(repeating: 0, count: max(1, count))
                return p
            }
            what = buffer(2 * spec)
            wstar = buffer(2 * spec)
            hat0 = buffer(2 * spec)
            hat1 = buffer(2 * spec)
            phys = buffer(4 * local * n)
            // Planned before any data is written (FFTW_MEASURE overwrites the arrays).
            let flags = UInt32(FFTW_MEASURE)
            guard let forward = fftw_mpi_plan_dft_r2c_2d(n, n, real, spectrum, comm, flags | swiftpde_fftw_mpi_transposed_out()),
                  let backward = fftw_mpi_plan_dft_c2r_2d(n, n, spectrum, real, comm, flags | swiftpde_fftw_mpi_transposed_in()) else {
                throw PDEError.libraryFailure(library: "FFTW MPI", reason: "no real-transform plan for \(n)² over \(communicator.size) ranks")
            }
            r2c = forward
            c2r = backward
            factors = NavierStokes2D.Tables.factorPlanes(n: n, period: grid.lengths[0], viscosity: viscosity, dt: timeStep,
                                                         dealias: dealiasing, transposedColumns: start1..<(start1 + localN1))
            let count = 2 * spec
            var fh = [Double](repeating: 0, count: count)
            if let forcing {
                let (rowCount, padded, width) = (local, 2 * m, n)
                for r in 0..<rowCount { for x in 0..<width { real[r * padded + x] = forcing[r * width + x] } }
                fftw_execute(forward)
                let s = UnsafeMutableRawPointer(spectrum).assumingMemoryBound(to: Double.self)
                for i in 0..<count { fh[i] = s[i] * timeStep }
            }
            dtForcing = fh
            return
        }
        m = 0; local = 0; spec = 0
        real = fftw_alloc_real(1)!; spectrum = fftw_alloc_complex(1)!
        what = real; wstar = real; hat0 = real; hat1 = real; phys = real
        factors = []; dtForcing = []
        r2c = nil; c2r = nil
        #endif
        let model = try NavierStokes2D(grid: grid, viscosity: viscosity, timeStep: timeStep, scheme: scheme, forcing: forcing,
                                       dealiasing: dealiasing, cflLimit: cflLimit)
        serial = try NavierStokes2D.Integrator(model, batch: 1)
    }

    deinit {
        #if MPI
        if let r2c { fftw_destroy_plan(r2c) }
        if let c2r { fftw_destroy_plan(c2r) }
        if serial == nil { for p in [what, wstar, hat0, hat1, phys] { fftw_free(p) } }
        fftw_free(real)
        fftw_free(spectrum)
        #endif
    }

    /// The y rows FFTW gives this rank for an N × N torus (all of them in one process). Throws
    /// when some rank would get none (more ranks than ⌈N / ⌈N/P⌉⌉).
    public static func rows(pointsPerAxis n: Int, communicator: Communicator) throws -> Range<Int> {
        #if MPI
        if let comm = communicator.handle, communicator.size > 1 {
            _ = DistributedNavierStokes2D.mpiInit
            var localN0 = 0, start0 = 0, localN1 = 0, start1 = 0
            _ = fftw_mpi_local_size_2d_transposed(n, n / 2 + 1, comm, &localN0, &start0, &localN1, &start1)
            let fewest = try communicator.allreduce(Double(localN0), .min)
            guard fewest >= 1 else {
                throw PDEError.invalidValue(key: "ranks", value: "\(communicator.size)",
                                            expected: "fewer ranks for \(n) rows: FFTW deals out blocks of ⌈\(n)/\(communicator.size)⌉ rows")
            }
            return start0..<(start0 + localN0)
        }
        #endif
        return 0..<n
    }

    /// Sets the state to this rank's rows of w₀ (x fastest) and time 0. Collective.
    public func load(_ w0: [Double]) throws {
        guard w0.count == rows.count * n else {
            throw PDEError.shapeMismatch(what: "Navier–Stokes initial field on rank \(communicator.rank)",
                                         expected: "\(rows.count * n) values (rows \(rows), x fastest)", got: "\(w0.count)")
        }
        if let i = w0.firstIndex(where: { !$0.isFinite }) {
            throw PDEError.invalidValue(key: "Navier–Stokes initial field[\(i)]", value: "\(w0[i])", expected: "finite values")
        }
        stepCount = 0
        if let serial { try serial.load([w0]); return }
        #if MPI
        loadReal(w0)
        fftw_execute(r2c)
        spectrum.withMemoryRebound(to: Double.self, capacity: 2 * spec) { what.update(from: $0, count: 2 * spec) }
        #endif
    }

    /// Takes `count` steps of the scheme; a CFL violation (on any rank) throws
    /// `NavierStokesCFLViolation` on every rank with the state of the last accepted step.
    public func step(_ count: Int = 1) throws {
        guard count >= 0 else {
            throw PDEError.invalidValue(key: "Navier–Stokes step count", value: "\(count)", expected: "≥ 0")
        }
        if let serial {
            defer { stepCount = serial.stepCount }
            try serial.step(count)
            return
        }
        #if MPI
        for _ in 0..<count {
            try scheme.step(what, predictor: wstar, stage0: hat0, stage1: hat1, nonlinear: nonlinear, update: update)
            stepCount += 1
        }
        #endif
    }

    /// This rank's rows of the current vorticity (x fastest). Collective.
    public func vorticity() -> [Double] {
        if let serial { return serial.vorticity()[0] }
        #if MPI
        let scale = 1 / Double(n * n)
        spectrum.withMemoryRebound(to: Double.self, capacity: 2 * spec) { s in
            for i in 0..<(2 * spec) { s[i] = what[i] * scale }
        }
        fftw_execute(c2r)
        var out = [Double](repeating: 0, count: local * n)
        for r in 0..<local { for x in 0..<n { out[r * n + x] = real[r * 2 * m + x] } }
        return out
        #else
        return []
        #endif
    }

    #if MPI
    /// real ← rows of `values` (x fastest), padded to 2m per row.
    private func loadReal(_ values: [Double]) {
        for r in 0..<local { for x in 0..<n { real[r * 2 * m + x] = values[r * n + x] } }
    }

    /// hat ← FFT(u·∇w) of the spectrum `w` (four c2r, one r2c), after the CFL check of the
    /// velocity it used (allreduced max: every rank throws or none).
    private func nonlinear(_ w: UnsafeMutablePointer<Double>, into hat: UnsafeMutablePointer<Double>) throws {
        let c = spec
        for field in 0..<4 {
            spectrum.withMemoryRebound(to: Double.self, capacity: 2 * c) { d in
                factors.withUnsafeBufferPointer { f in
                    let k = f.baseAddress! + field * c
                    for t in 0..<c {
                        let a = w[2 &* t], b = w[2 &* t &+ 1], ct = k[t]
                        d[2 &* t] = -ct * b; d[2 &* t &+ 1] = ct * a
                    }
                }
            }
            fftw_execute(c2r)
            let out = phys + field * local * n
            for r in 0..<local { for x in 0..<n { out[r &* n &+ x] = real[r &* 2 &* m &+ x] } }
        }
        var big = 0.0, probe = 0.0
        let q = phys, v = phys + local * n, wx = v + local * n, wy = wx + local * n
        for r in 0..<local {
            for x in 0..<n {
                let i = r &* n &+ x
                let a = q[i], b = v[i]
                real[r &* 2 &* m &+ x] = a * wx[i] + b * wy[i]
                let cv = Swift.max(Swift.abs(a), Swift.abs(b))
                big = cv > big ? cv : big
                probe += (a - a) + (b - b)
            }
        }
        if probe != 0 { big = .infinity }
        let u = try communicator.allreduce(big, .max)
        let h = grid.spacing[0]
        let cfl = u * timeStep / h
        if !(cfl <= cflLimit) {
            throw NavierStokesCFLViolation(sample: 0, time: Double(stepCount) * timeStep, maxVelocity: u, timeStep: timeStep,
                                           spacing: h, cfl: cfl, limit: cflLimit)
        }
        fftw_execute(r2c)
        spectrum.withMemoryRebound(to: Double.self, capacity: 2 * c) { hat.update(from: $0, count: 2 * c) }
    }

    /// dst ← ((−dt·mask·(P0 or ½(P0 + P1)) + dt f̂) + num·src)·(1/den), as the serial update.
    private func update(_ src: UnsafeMutablePointer<Double>, _ p0: UnsafeMutablePointer<Double>, _ p1: UnsafeMutablePointer<Double>?,
                        into dst: UnsafeMutablePointer<Double>) {
        let c = spec
        factors.withUnsafeBufferPointer { f in
            dtForcing.withUnsafeBufferPointer { ff in
                let num = f.baseAddress! + 4 * c, inv = num + c, dm = inv + c
                for t in 0..<c {
                    let re: Double, im: Double
                    if let p1 {
                        let hh = 0.5 * dm[t]
                        re = (-hh * (p0[2 &* t] + p1[2 &* t]) + ff[2 &* t]) + num[t] * src[2 &* t]
                        im = (-hh * (p0[2 &* t &+ 1] + p1[2 &* t &+ 1]) + ff[2 &* t &+ 1]) + num[t] * src[2 &* t &+ 1]
                    } else {
                        re = (-dm[t] * p0[2 &* t] + ff[2 &* t]) + num[t] * src[2 &* t]
                        im = (-dm[t] * p0[2 &* t &+ 1] + ff[2 &* t &+ 1]) + num[t] * src[2 &* t &+ 1]
                    }
                    dst[2 &* t] = re * inv[t]; dst[2 &* t &+ 1] = im * inv[t]
                }
            }
        }
    }
    #endif
}

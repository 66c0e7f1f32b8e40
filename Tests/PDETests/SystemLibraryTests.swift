import CBLAS
import CFFTW
import CLapacke
import Foundation
import Testing

/// The system-library shims link and behave: FFTW (double and float), CBLAS, LAPACKE.
@Suite struct SystemLibraryTests {
    @Test func fftwDoubleTransformsACosine() {
        let n = 16
        let input = fftw_alloc_real(n)!, output = fftw_alloc_complex(n / 2 + 1)!
        defer { fftw_free(input); fftw_free(output) }
        let plan = fftw_plan_dft_r2c_1d(Int32(n), input, output, swiftpde_fftw_estimate())
        defer { fftw_destroy_plan(plan) }
        for i in 0..<n { input[i] = cos(2 * Double.pi * 3 * Double(i) / Double(n)) }
        fftw_execute(plan)
        // cos(2π·3i/n) has its energy in bin 3: X₃ = n/2.
        let bins = (0...(n / 2)).map { (output[$0].0 * output[$0].0 + output[$0].1 * output[$0].1).squareRoot() }
        #expect(abs(bins[3] - Double(n) / 2) < 1e-12)
        #expect(bins.enumerated().allSatisfy { $0.offset == 3 || $0.element < 1e-12 })
    }

    @Test func fftwFloatAndThreadsInitialize() {
        #expect(fftwf_init_threads() != 0)
        let n = 8
        let x = fftwf_alloc_complex(n)!
        defer { fftwf_free(x) }
        let plan = fftwf_plan_dft_1d(Int32(n), x, x, FFTW_FORWARD, swiftpde_fftw_estimate())
        defer { fftwf_destroy_plan(plan) }
        for i in 0..<n { x[i].0 = 1; x[i].1 = 0 }
        fftwf_execute(plan)
        #expect(abs(x[0].0 - Float(n)) < 1e-5 && abs(x[1].0) < 1e-5)
    }

    @Test func lapackeCholeskyAndBlasDot() {
        var a: [Double] = [4, 2, 2, 3]  // SPD 2×2, row major
        let info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), 2, &a, 2)
        #expect(info == 0)
        #expect(abs(a[0] - 2) < 1e-15 && abs(a[2] - 1) < 1e-15 && abs(a[3] - 2.0.squareRoot()) < 1e-15)
        let x: [Double] = [1, 2, 3], y: [Double] = [4, 5, 6]
        #expect(cblas_ddot(3, x, 1, y, 1) == 32)
    }
}

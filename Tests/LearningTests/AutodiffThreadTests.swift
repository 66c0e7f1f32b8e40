import Foundation
@testable import Learning
import Testing

@Suite struct AutodiffThreadTests {
    @Test func withoutGradientOnOneThreadDoesNotStopAnotherFromRecording() throws {
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Autodiff.withoutGradient {
                started.signal()
                release.wait()
            }
        }
        started.wait()
        // The other thread is inside withoutGradient now; this one still records.
        #expect(Autodiff.isRecording)
        let p = Variable(try Tensor<Double>(shape: [2], scalars: [1, 2]), requiresGradient: true)
        let y = try (p * p).sum() * 3
        release.signal()
        try y.backward()
        #expect(p.grad?.scalars == [6, 12])
        Autodiff.withoutGradient { #expect(!Autodiff.isRecording) }
        #expect(Autodiff.isRecording)
    }
}

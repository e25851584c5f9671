// Stand-in for androidx.activity (Google's Maven, unreachable from this
// machine) so the shell compiles and runs on the host JVM. Same public
// signatures and intent format as androidx.activity 1.9; never shipped: the
// Gradle module depends on the real androidx.activity.
package androidx.activity.result.contract

import android.content.Context
import android.content.Intent

abstract class ActivityResultContract<I, O> {
    abstract fun createIntent(context: Context, input: I): Intent

    abstract fun parseResult(resultCode: Int, intent: Intent?): O

    open fun getSynchronousResult(context: Context, input: I): SynchronousResult<O>? = null

    class SynchronousResult<T>(val value: T)
}

// Stand-in for androidx.activity's RequestMultiplePermissions; see
// ActivityResultContract.kt beside this file.
package androidx.activity.result.contract

import android.app.Activity
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager

class ActivityResultContracts private constructor() {
    class RequestMultiplePermissions : ActivityResultContract<Array<String>, Map<String, Boolean>>() {
        companion object {
            const val ACTION_REQUEST_PERMISSIONS = "androidx.activity.result.contract.action.REQUEST_PERMISSIONS"
            const val EXTRA_PERMISSIONS = "androidx.activity.result.contract.extra.PERMISSIONS"
            const val EXTRA_PERMISSION_GRANT_RESULTS =
                "androidx.activity.result.contract.extra.PERMISSION_GRANT_RESULTS"
        }

        override fun createIntent(context: Context, input: Array<String>): Intent =
            Intent(ACTION_REQUEST_PERMISSIONS).putExtra(EXTRA_PERMISSIONS, input)

        override fun getSynchronousResult(
            context: Context,
            input: Array<String>,
        ): SynchronousResult<Map<String, Boolean>>? {
            if (input.isEmpty()) return SynchronousResult(emptyMap())
            val allGranted = input.all {
                context.checkSelfPermission(it) == PackageManager.PERMISSION_GRANTED
            }
            return if (allGranted) SynchronousResult(input.associateWith { true }) else null
        }

        override fun parseResult(resultCode: Int, intent: Intent?): Map<String, Boolean> {
            if (resultCode != Activity.RESULT_OK || intent == null) return emptyMap()
            val permissions = intent.getStringArrayExtra(EXTRA_PERMISSIONS) ?: return emptyMap()
            val results = intent.getIntArrayExtra(EXTRA_PERMISSION_GRANT_RESULTS) ?: return emptyMap()
            return permissions.indices.associate { permissions[it] to (results.getOrNull(it) == PackageManager.PERMISSION_GRANTED) }
        }
    }
}

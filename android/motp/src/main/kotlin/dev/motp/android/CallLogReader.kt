package dev.motp.android

import android.content.ContentResolver
import android.database.Cursor
import android.net.Uri
import android.os.Build
import android.os.Bundle
import android.provider.CallLog

/**
 * Reads the incoming, missed, rejected and blocked calls logged since an instant, on
 * every SIM (the log holds the calls of all of them). Blocked calls
 * ([CallLog.Calls.BLOCKED_TYPE]) never ring: the user's spam or
 * screening app turned them away, and their row is the only trace of a
 * verification call it blocked.
 *
 * The size of the answer is bounded through the provider's own limit
 * mechanisms, never with SQL text in the sort order (API 30+ providers run
 * in strict grammar and reject `date DESC LIMIT 5`):
 * - the `limit` URI parameter ([CallLog.Calls.LIMIT_PARAM_KEY]), which the
 *   platform's call-log provider honours on every supported API level;
 * - on API 26+, the query Bundle with [ContentResolver.QUERY_ARG_LIMIT] for
 *   providers that implement the Bundle query.
 * Rows beyond [limit] are never read, whichever of the two a provider honours.
 */
internal class CallLogReader(
    private val resolver: ContentResolver,
    private val limit: Int = DEFAULT_LIMIT,
) {

    /** One call-log row, newest first from [readSince]. */
    data class Row(val id: Long, val call: ObservedCall)

    /** Calls of the watched types whose `date` is at or after [sinceMillis]. */
    fun readSince(sinceMillis: Long): List<Row> {
        val uri: Uri = CallLog.Calls.CONTENT_URI.buildUpon()
            .appendQueryParameter(LIMIT_PARAM_KEY, limit.toString())
            .build()
        val selection = "${CallLog.Calls.DATE} >= ? AND ${CallLog.Calls.TYPE} IN (?, ?, ?, ?)"
        val args = arrayOf(
            sinceMillis.toString(),
            CallLog.Calls.INCOMING_TYPE.toString(),
            CallLog.Calls.MISSED_TYPE.toString(),
            CallLog.Calls.REJECTED_TYPE.toString(),
            CallLog.Calls.BLOCKED_TYPE.toString(),
        )
        val sortOrder = "${CallLog.Calls.DATE} DESC"
        val cursor: Cursor? = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            val queryArgs = Bundle().apply {
                putString(ContentResolver.QUERY_ARG_SQL_SELECTION, selection)
                putStringArray(ContentResolver.QUERY_ARG_SQL_SELECTION_ARGS, args)
                putString(ContentResolver.QUERY_ARG_SQL_SORT_ORDER, sortOrder)
                putInt(ContentResolver.QUERY_ARG_LIMIT, limit)
            }
            resolver.query(uri, PROJECTION, queryArgs, null)
        } else {
            resolver.query(uri, PROJECTION, selection, args, sortOrder)
        }
        return cursor?.use { read(it, sinceMillis) }.orEmpty()
    }

    private fun read(cursor: Cursor, sinceMillis: Long): List<Row> {
        val id = cursor.getColumnIndexOrThrow(CallLog.Calls._ID)
        val number = cursor.getColumnIndexOrThrow(CallLog.Calls.NUMBER)
        val date = cursor.getColumnIndexOrThrow(CallLog.Calls.DATE)
        val rows = ArrayList<Row>()
        while (rows.size < limit && cursor.moveToNext()) {
            val at = cursor.getLong(date)
            // A provider that ignored the selection must not leak older calls.
            if (at < sinceMillis) continue
            val call = ObservedCall(cursor.getString(number).orEmpty(), at, ObservedCall.Source.CALL_LOG)
            rows += Row(cursor.getLong(id), call)
        }
        return rows
    }

    companion object {
        /** A verification sees one call, two or three with resends. */
        const val DEFAULT_LIMIT = 10

        /** [CallLog.Calls.LIMIT_PARAM_KEY]; the constant is public from API 24, the parameter older. */
        const val LIMIT_PARAM_KEY = "limit"

        private val PROJECTION = arrayOf(
            CallLog.Calls._ID,
            CallLog.Calls.NUMBER,
            CallLog.Calls.DATE,
            CallLog.Calls.TYPE,
        )
    }
}

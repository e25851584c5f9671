package dev.motp.android

import android.content.ContentProvider
import android.content.ContentResolver
import android.content.ContentValues
import android.database.Cursor
import android.database.sqlite.SQLiteDatabase
import android.net.Uri
import android.os.Bundle
import android.os.CancellationSignal
import android.provider.CallLog
import java.util.concurrent.CopyOnWriteArrayList

/**
 * The system call log, as the platform provider behaves: a SQLite table,
 * the `limit` URI parameter honoured, change notifications on insert. It
 * records each query so tests can check how the SDK asked.
 */
class FakeCallLogProvider : ContentProvider() {
    data class Query(val uri: Uri, val sortOrder: String?, val bundleLimit: Int?)

    val queries = CopyOnWriteArrayList<Query>()

    /**
     * Whether an insert notifies observers. False models an app whose
     * observer is held back (cached on Android 14+): the row is there, but
     * only a re-read finds it.
     */
    @Volatile
    var notifyOnInsert = true
    private lateinit var db: SQLiteDatabase

    override fun onCreate(): Boolean {
        db = SQLiteDatabase.create(null)
        db.execSQL(
            "CREATE TABLE calls (_id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT, date INTEGER, " +
                "type INTEGER, subscription_id TEXT)",
        )
        return true
    }

    override fun query(uri: Uri, projection: Array<String>?, queryArgs: Bundle?, cancellationSignal: CancellationSignal?): Cursor? {
        val args = queryArgs ?: Bundle.EMPTY
        val sortOrder = args.getString(ContentResolver.QUERY_ARG_SQL_SORT_ORDER)
        val bundleLimit = if (args.containsKey(ContentResolver.QUERY_ARG_LIMIT)) args.getInt(ContentResolver.QUERY_ARG_LIMIT) else null
        return run(uri, projection, args.getString(ContentResolver.QUERY_ARG_SQL_SELECTION),
            args.getStringArray(ContentResolver.QUERY_ARG_SQL_SELECTION_ARGS), sortOrder, bundleLimit)
    }

    override fun query(uri: Uri, projection: Array<String>?, selection: String?, selectionArgs: Array<String>?, sortOrder: String?): Cursor? =
        run(uri, projection, selection, selectionArgs, sortOrder, null)

    private fun run(uri: Uri, projection: Array<String>?, selection: String?, selectionArgs: Array<String>?, sortOrder: String?, bundleLimit: Int?): Cursor {
        queries += Query(uri, sortOrder, bundleLimit)
        // Like the platform's CallLogProvider: the limit comes from the URI, never from SQL text.
        require(sortOrder == null || !sortOrder.contains("limit", ignoreCase = true)) { "strict grammar: LIMIT in sort order" }
        val limit = uri.getQueryParameter(CallLog.Calls.LIMIT_PARAM_KEY)
        return db.query("calls", projection, selection, selectionArgs, null, null, sortOrder, limit)
    }

    override fun insert(uri: Uri, values: ContentValues?): Uri {
        val id = db.insert("calls", null, values)
        val row = Uri.withAppendedPath(CallLog.Calls.CONTENT_URI, id.toString())
        if (notifyOnInsert) context!!.contentResolver.notifyChange(CallLog.Calls.CONTENT_URI, null)
        return row
    }

    override fun shutdown() {
        db.close()
    }

    override fun getType(uri: Uri): String = CallLog.Calls.CONTENT_TYPE
    override fun delete(uri: Uri, selection: String?, selectionArgs: Array<String>?): Int = 0
    override fun update(uri: Uri, values: ContentValues?, selection: String?, selectionArgs: Array<String>?): Int = 0
}

//! `store_rank`, the store's FTS5 ranking function: BM25 without the inverse document
//! frequency.
//!
//! FTS5's `bm25()` weighs each phrase of a query by its rarity over the whole archive, and
//! counts for that every row the phrase matches (positions checked for a phrase) before it
//! scores the first: 30–50 ms for a common phrase in 300,000 records, against ~1 ms to walk the
//! newest 200 matches that a search ranks. `store_rank` scores a row as `bm25()` does (term
//! frequency saturation `k1` = 1.2, length normalisation `b` = 0.75 against the average length,
//! one weight per column) with every phrase weighing the same, as PostgreSQL's `ts_rank` does;
//! it reads only the row's own positions and sizes and the index's totals. Lower is better, as
//! with `bm25()`.
//!
//! The function is registered through SQLite's C interface (`fts5_api`), which sqlx does not
//! wrap: the one place of the workspace with `unsafe` code.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int, c_void};
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;

/// The function's name in SQL: `store_rank(speeches_fts, title_weight, body_weight)`.
pub(super) const RANK_FUNCTION: &str = "store_rank";
const RANK_FUNCTION_C: &CStr = c"store_rank";

/// BM25's term frequency saturation.
const K1: f64 = 1.2;
/// BM25's length normalisation.
const B: f64 = 0.75;

/// Registers `store_rank` on the connection `db` (a connection of sqlx's, locked by the
/// caller). Fails when the SQLite library has no FTS5 of version 2 or later.
pub(super) fn register(db: NonNull<ffi::sqlite3>) -> Result<(), String> {
    let api = fts5_api(db)?;
    // SAFETY: `api` is the live `fts5_api` of this connection (checked non-null and of
    // version ≥ 2, which has `xCreateFunction`); the name is a static C string, the function
    // has the signature FTS5 expects, and no user data needs freeing.
    let rc = unsafe {
        let create = (*api)
            .xCreateFunction
            .ok_or("SQLite's FTS5 cannot register functions")?;
        create(
            api,
            RANK_FUNCTION_C.as_ptr(),
            ptr::null_mut(),
            Some(store_rank),
            None,
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(format!(
            "cannot register the FTS5 function {RANK_FUNCTION}: SQLite error {rc}"
        ))
    }
}

/// The connection's `fts5_api`, as SQLite's documentation obtains it: `SELECT fts5(?1)` with
/// a pointer bound as `fts5_api_ptr`, which FTS5 fills in.
fn fts5_api(db: NonNull<ffi::sqlite3>) -> Result<*mut ffi::fts5_api, String> {
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    // SAFETY: `db` is an open connection held by the caller for the duration; the statement
    // is finalized on every path; the bound pointer outlives the statement and its type name
    // is a static C string, as `sqlite3_bind_pointer` requires.
    unsafe {
        let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
        let rc = ffi::sqlite3_prepare_v2(
            db.as_ptr(),
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        );
        if rc != ffi::SQLITE_OK || stmt.is_null() {
            return Err(format!("SQLite has no FTS5 (error {rc})"));
        }
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&raw mut api).cast::<c_void>(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(stmt);
        ffi::sqlite3_finalize(stmt);
        if api.is_null() || (*api).iVersion < 2 {
            return Err("SQLite's FTS5 is too old (fts5_api version 2 needed)".into());
        }
    }
    Ok(api)
}

/// The FTS5 auxiliary function: the arguments after the table are the columns' weights
/// (missing ones weigh 1).
unsafe extern "C" fn store_rank(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 calls this with its extension API, the current row's context, the SQL
    // function's context and `argc` argument values, all valid for the call.
    unsafe {
        let weights: Vec<f64> = (0..usize::try_from(argc).unwrap_or(0))
            .map(|i| ffi::sqlite3_value_double(*argv.add(i)))
            .collect();
        match score(&*api, fts, &weights) {
            Ok(score) => ffi::sqlite3_result_double(ctx, score),
            Err(rc) => ffi::sqlite3_result_error_code(ctx, rc),
        }
    }
}

/// The row's score, or SQLite's error code.
///
/// # Safety
/// `api` and `fts` are those FTS5 passed to the auxiliary function, during its call.
unsafe fn score(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    weights: &[f64],
) -> Result<f64, c_int> {
    let missing = ffi::SQLITE_ERROR;
    let check = |rc: c_int| {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(rc)
        }
    };
    // SAFETY: the callbacks are FTS5's own, called with its context as documented.
    unsafe {
        let phrases = usize::try_from((api.xPhraseCount.ok_or(missing)?)(fts)).unwrap_or(0);
        let mut instances: c_int = 0;
        check((api.xInstCount.ok_or(missing)?)(fts, &mut instances))?;
        let mut frequency = vec![0.0_f64; phrases];
        let inst = api.xInst.ok_or(missing)?;
        for i in 0..instances {
            let (mut phrase, mut column, mut offset) = (0, 0, 0);
            check(inst(fts, i, &mut phrase, &mut column, &mut offset))?;
            let weight = usize::try_from(column)
                .ok()
                .and_then(|c| weights.get(c))
                .copied()
                .unwrap_or(1.0);
            if let Some(f) = usize::try_from(phrase)
                .ok()
                .and_then(|p| frequency.get_mut(p))
            {
                *f += weight;
            }
        }
        let mut rows: i64 = 0;
        check((api.xRowCount.ok_or(missing)?)(fts, &mut rows))?;
        let mut total_tokens: i64 = 0;
        check((api.xColumnTotalSize.ok_or(missing)?)(
            fts,
            -1,
            &mut total_tokens,
        ))?;
        let mut row_tokens: c_int = 0;
        check((api.xColumnSize.ok_or(missing)?)(fts, -1, &mut row_tokens))?;
        let average = if rows > 0 {
            total_tokens as f64 / rows as f64
        } else {
            1.0
        };
        let length = f64::from(row_tokens) / average.max(1.0);
        let score: f64 = frequency
            .iter()
            .map(|&f| f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * length)))
            .sum();
        Ok(-score)
    }
}

//! Re-checks of recent statements: conditional GETs, a changed body published again.

use std::collections::HashSet;

use chrono::Utc;
use futures_util::StreamExt;
use shared::messages::{Lang, hex_digest};
use url::Url;

use crate::http::{Fetched, HttpError};
use crate::ordered::in_order;

use super::{Fetcher, FetcherError, PollReport};

/// What the re-check of one statement found.
enum Rechecked {
    /// Not due, not in the window, or no URL.
    Skipped,
    /// Not modified, or the same body.
    Unchanged,
    /// A new body, published again.
    Edited,
    /// 404/410.
    Gone,
    /// The reason (logged already).
    Failed(String),
}

impl Fetcher {
    pub(super) fn recheck_since(&self) -> chrono::DateTime<Utc> {
        let window =
            chrono::Duration::from_std(self.recheck_window).unwrap_or(chrono::Duration::MAX);
        Utc::now()
            .checked_sub_signed(window)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
    }

    /// Conditional GETs of the statements published within the recheck window; a changed
    /// body is published again.
    pub(super) async fn recheck(
        &self,
        lang: Lang,
        skip: &HashSet<String>,
        report: &mut PollReport,
    ) -> Result<(), FetcherError> {
        if self.recheck_window.is_zero() {
            return Ok(());
        }
        let due: Vec<String> = self
            .state
            .recent(lang, self.recheck_since())
            .await?
            .into_iter()
            .filter(|doc_id| !skip.contains(doc_id))
            .collect();
        let mut checks = in_order(&due, self.concurrency, |doc_id| {
            self.recheck_one(lang, doc_id)
        });
        while let Some((_, result)) = checks.next().await {
            match result? {
                Rechecked::Skipped | Rechecked::Unchanged | Rechecked::Gone => {}
                Rechecked::Edited => report.edited += 1,
                Rechecked::Failed(reason) => report.failed.push(reason),
            }
        }
        Ok(())
    }

    /// Re-checks one statement when due (conditional GET); a changed body is published again.
    async fn recheck_one(&self, lang: Lang, doc_id: &str) -> Result<Rechecked, FetcherError> {
        let Some(entry) = self.state.seen(lang, doc_id).await? else {
            return Ok(Rechecked::Skipped);
        };
        let now = Utc::now();
        if !entry.recheck_due(now, self.recheck_spacing) {
            return Ok(Rechecked::Skipped);
        }
        let Some(url) = entry.url.as_deref().and_then(|u| Url::parse(u).ok()) else {
            return Ok(Rechecked::Skipped);
        };
        let validators = entry.validators();
        let validators = (!validators.is_empty()).then_some(validators);
        match self.http.get(&url, validators.as_ref()).await {
            Ok(Fetched::NotModified) => {
                let mut checked = entry.clone();
                checked.checked_at = Some(now);
                self.state.mark_seen(lang, doc_id, &checked).await?;
                Ok(Rechecked::Unchanged)
            }
            Ok(Fetched::Page(page)) => {
                if hex_digest(&page.body) == entry.body_sha256 {
                    // Same body, maybe new validators: remember them.
                    let mut same = entry.clone();
                    let v = page.validators();
                    same.etag = v.etag;
                    same.last_modified = v.last_modified;
                    same.checked_at = Some(now);
                    self.state.mark_seen(lang, doc_id, &same).await?;
                    return Ok(Rechecked::Unchanged);
                }
                match self
                    .publish(lang, doc_id, &page, entry.listing.clone(), Some(&entry))
                    .await
                {
                    Ok(_) => {
                        tracing::info!(%doc_id, %lang, "statement was edited after publication: published again");
                        self.metrics.edits.inc();
                        Ok(Rechecked::Edited)
                    }
                    Err(err) => Ok(Rechecked::Failed(err.to_string())),
                }
            }
            Err(HttpError::Cancelled) => Err(FetcherError::Cancelled("the poll")),
            Err(HttpError::Status { status, .. }) if matches!(status, 404 | 410) => {
                tracing::warn!(%doc_id, %lang, %url, status, "a published statement is gone from the site");
                Ok(Rechecked::Gone)
            }
            Err(HttpError::SoftNotFound { .. }) => {
                tracing::warn!(%doc_id, %lang, %url, "a published statement is gone from the site (its page is now the site's 'not found' page)");
                Ok(Rechecked::Gone)
            }
            Err(err) => {
                tracing::warn!(%doc_id, %lang, error = %err, "cannot re-check the statement");
                Ok(Rechecked::Failed(err.to_string()))
            }
        }
    }
}

//! Backfill: the date-filtered listing walked day by day from the checkpoint.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use futures_util::StreamExt;
use shared::messages::Lang;
use url::Url;

use crate::http::{Fetched, HttpError, human};
use crate::listing::{ListingItem, parse_listing};
use crate::ordered::in_order;
use crate::state::Checkpoint;

use super::poll::{ItemResult, section_label};
use super::{BackfillReport, Fetcher, FetcherError};

impl Fetcher {
    /// Walks the profile's date-filtered listing (`fetch.backfill`; mid.ru:
    /// `?activeFrom=D&activeTo=D`) day by day from the checkpoint, for every section and
    /// language, and publishes the statements not yet seen.
    pub async fn backfill(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BackfillReport, FetcherError> {
        if from > to {
            return Err(FetcherError::EmptyRange { from, to });
        }
        let source = &self.source;
        let Some(dated) = source.backfill() else {
            return Err(FetcherError::NoBackfill(source.name().to_string()));
        };
        let total_days = (to - from).num_days() as u64 + 1;
        let mut checkpoint = match self.state.checkpoint(from, to).await? {
            Some(c) => {
                tracing::info!(from = %from, to = %to, next_day = %c.next_day, pages = c.pages, "resuming backfill from its checkpoint");
                c
            }
            None => Checkpoint {
                from,
                to,
                next_day: from,
                pages: 0,
                updated_at: Utc::now(),
            },
        };
        let mut report = BackfillReport {
            total_days,
            ..Default::default()
        };
        if checkpoint.next_day > to {
            tracing::info!(from = %from, to = %to, "backfill of this range is already complete");
            return Ok(report);
        }
        let started = Instant::now();
        let mut day = checkpoint.next_day;
        while day <= to {
            let mut failed: Vec<String> = Vec::new();
            // The day's listings (sections x languages), requested concurrently and read in
            // order; a statement listed in several sections is fetched once (the first).
            let date = day.format(&dated.date_format).to_string();
            let mut listings: Vec<(Lang, String, Url)> = Vec::new();
            for &lang in &source.langs {
                for section in source.sections.iter().filter(|s| s.has_lang(lang)) {
                    let path = section.path_for(lang);
                    let dated_path = dated
                        .template
                        .replace("{section}", path)
                        .replace("{date}", &date);
                    if let Some(url) = source.site.url(lang, &dated_path) {
                        listings.push((lang, section_label(path), url));
                    }
                }
            }
            let mut todo: Vec<(Lang, ListingItem)> = Vec::new();
            let mut queued: HashSet<(Lang, String)> = HashSet::new();
            let mut pages = in_order(&listings, self.concurrency, |(_, _, url)| {
                self.http.get(url, None)
            });
            while let Some(((lang, section, url), result)) = pages.next().await {
                let lang = *lang;
                let items = match result {
                    Ok(Fetched::Page(page)) => parse_listing(
                        &String::from_utf8_lossy(&page.body),
                        &page.url,
                        section,
                        lang,
                        source,
                    ),
                    Ok(Fetched::NotModified) => Vec::new(),
                    Err(HttpError::Cancelled) => {
                        return Err(FetcherError::Cancelled("the backfill"));
                    }
                    Err(err) => {
                        tracing::warn!(%url, error = %err, "cannot read the day's listing");
                        failed.push(err.to_string());
                        continue;
                    }
                };
                if let Some(size) = dated.page_size
                    && items.len() >= size
                {
                    tracing::warn!(%url, "the day's listing is full ({size} items): statements beyond its first page are not read; the feed and other sections may still list them");
                }
                for item in items {
                    if queued.insert((lang, item.doc_id.clone())) {
                        todo.push((lang, item));
                    }
                }
            }
            drop(pages);
            // The day's statements, up to --fetch-concurrency at once; the checkpoint below
            // advances only when every one of them is published (or was known).
            let mut fetches = in_order(&todo, self.concurrency, |(lang, item)| {
                self.fetch_new(*lang, item)
            });
            while let Some(((lang, item), result)) = fetches.next().await {
                match result {
                    Ok(ItemResult::Published) => {
                        report.pages += 1;
                        checkpoint.pages += 1;
                    }
                    Ok(ItemResult::Known) => {}
                    Err(FetcherError::Http(HttpError::Cancelled)) => {
                        return Err(FetcherError::Cancelled("the backfill"));
                    }
                    Err(err) => {
                        tracing::warn!(doc_id = %item.doc_id, %lang, error = %err, "cannot fetch the statement");
                        failed.push(err.to_string());
                    }
                }
            }
            drop(fetches);
            if let Some(first) = failed.first() {
                self.metrics.failures.inc_by(failed.len() as u64);
                return Err(FetcherError::Incomplete {
                    what: "the backfill",
                    count: failed.len(),
                    first: format!("{first} (on {day}; the backfill resumes from that day)"),
                });
            }
            let next = day.succ_opt();
            checkpoint.next_day = next.unwrap_or(day);
            checkpoint.updated_at = Utc::now();
            self.state.save_checkpoint(&checkpoint).await?;
            report.days += 1;
            let done = (checkpoint.next_day - from)
                .num_days()
                .clamp(0, total_days as i64) as u64;
            let rate = report.days as f64 / started.elapsed().as_secs_f64().max(0.001);
            let eta =
                Duration::from_secs_f64(total_days.saturating_sub(done) as f64 / rate.max(1e-9));
            tracing::info!(
                "backfill {done}/{total_days} days, {} pages published ({} in this run), {:.2} days/min, ETA {}",
                checkpoint.pages,
                report.pages,
                rate * 60.0,
                human(eta)
            );
            match next {
                Some(next) => day = next,
                None => break,
            }
        }
        Ok(report)
    }
}

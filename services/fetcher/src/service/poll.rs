//! A poll: the feed and listings of every language, new statements fetched and published.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::Utc;
use futures_util::StreamExt;
use shared::messages::{Lang, ListingHint};
use url::Url;

use crate::http::{Fetched, HttpError, Page, Validators};
use crate::listing::{ListingItem, parse_feed, parse_listing};
use crate::ordered::in_order;
use crate::publish::raw_page;
use crate::state::SeenEntry;

use super::{Fetcher, FetcherError, PollReport};

/// What became of one listed statement.
pub(super) enum ItemResult {
    /// Fetched and published.
    Published,
    /// Seen before or not modified.
    Known,
}

impl Fetcher {
    /// Polls once: `Ok` only when everything found was published and acknowledged.
    pub async fn poll_once(&self) -> Result<PollReport, FetcherError> {
        let report = self.poll().await?;
        log_poll(&report);
        match report.failed.first() {
            None => Ok(report),
            Some(first) => Err(FetcherError::Incomplete {
                what: "the poll",
                count: report.failed.len(),
                first: first.clone(),
            }),
        }
    }

    /// One poll of every language: feed and listings, new statements, edits.
    pub async fn poll(&self) -> Result<PollReport, FetcherError> {
        let started = Instant::now();
        let mut report = PollReport::default();
        for &lang in &self.source.langs {
            self.poll_lang(lang, &mut report).await?;
        }
        self.metrics
            .poll_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics.failures.inc_by(report.failed.len() as u64);
        Ok(report)
    }

    async fn poll_lang(&self, lang: Lang, report: &mut PollReport) -> Result<(), FetcherError> {
        let source = &self.source;
        let mut sources: Vec<(Url, Option<String>)> = Vec::new();
        for feed in source.feeds(lang) {
            if let Some(url) = source.site.url(lang, &feed.path) {
                sources.push((url, None));
            }
        }
        for section in source.sections.iter().filter(|s| s.has_lang(lang)) {
            let path = section.path_for(lang);
            if let Some(url) = source.site.url(lang, path) {
                sources.push((url, Some(section_label(path))));
            }
        }
        let mut items: Vec<ListingItem> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut listed: Vec<(Url, Validators, Vec<String>)> = Vec::new();
        // Listings are requested concurrently (still spaced by --request-interval) and read
        // in their order, so the merge is the same as one at a time. The feed (the first
        // source) alone first: a poll starts with it, so it marks where one poll ends and the
        // next begins in the site's access log.
        let mut fetched = in_order(&sources, self.concurrency, |(url, _)| {
            self.read_listing(url)
        })
        .first_alone();
        while let Some(((url, section), result)) = fetched.next().await {
            match result? {
                Ok(Fetched::Page(page)) => {
                    let text = String::from_utf8_lossy(&page.body);
                    let found = match &section {
                        None => parse_feed(&text, &page.url, lang, source),
                        Some(section) => parse_listing(&text, &page.url, section, lang, source),
                    };
                    tracing::debug!(%url, items = found.len(), "listing read");
                    if found.is_empty() {
                        tracing::warn!(%url, "the listing shows no statement: has the site's markup changed?");
                    }
                    let ids = found.iter().map(|i| i.doc_id.clone()).collect();
                    for item in found {
                        merge_item(&mut items, &mut index, item);
                    }
                    listed.push((url.clone(), page.validators(), ids));
                }
                Ok(Fetched::NotModified) => report.not_modified += 1,
                Err(HttpError::Cancelled) => return Err(FetcherError::Cancelled("the poll")),
                Err(err) => {
                    tracing::warn!(%url, error = %err, "cannot read the listing");
                    report.failed.push(err.to_string());
                }
            }
        }
        drop(fetched);
        let mut failed_docs: HashSet<String> = HashSet::new();
        let mut published: HashSet<String> = HashSet::new();
        // Up to --fetch-concurrency statements in flight; results in listing order. Each is
        // marked seen only after its own publish acknowledgement.
        let mut fetches = in_order(&items, self.concurrency, |item| self.fetch_new(lang, item));
        while let Some((item, result)) = fetches.next().await {
            match result {
                Ok(ItemResult::Published) => {
                    report.new += 1;
                    published.insert(item.doc_id.clone());
                }
                Ok(ItemResult::Known) => {}
                Err(FetcherError::Http(HttpError::Cancelled)) => {
                    return Err(FetcherError::Cancelled("the poll"));
                }
                Err(err) => {
                    tracing::warn!(doc_id = %item.doc_id, %lang, error = %err, "cannot fetch the statement; it will be tried again");
                    report.failed.push(err.to_string());
                    failed_docs.insert(item.doc_id.clone());
                }
            }
        }
        drop(fetches);
        // A listing's validators are kept only when all its statements are in: otherwise
        // the next poll must read it again in full to find the missing ones.
        for (url, validators, ids) in listed {
            if ids.iter().any(|id| failed_docs.contains(id)) {
                self.state.forget_validators(url.as_str()).await;
            } else if !validators.is_empty() {
                self.state
                    .save_validators(url.as_str(), &validators)
                    .await?;
            }
        }
        self.recheck(lang, &published, report).await
    }

    /// A listing or feed, conditionally on its saved validators.
    async fn read_listing(&self, url: &Url) -> Result<Result<Fetched, HttpError>, FetcherError> {
        let validators = self
            .state
            .validators(url.as_str())
            .await?
            .filter(|v| !v.is_empty());
        Ok(self.http.get(url, validators.as_ref()).await)
    }

    /// Fetches and publishes `item` unless its language version is already known.
    pub(super) async fn fetch_new(
        &self,
        lang: Lang,
        item: &ListingItem,
    ) -> Result<ItemResult, FetcherError> {
        if self.state.seen(lang, &item.doc_id).await?.is_some() {
            return Ok(ItemResult::Known);
        }
        let page = match self.http.get(&item.url, None).await? {
            Fetched::Page(page) => page,
            Fetched::NotModified => return Ok(ItemResult::Known),
        };
        let entry = self
            .publish(lang, &item.doc_id, &page, Some(item.hint.clone()), None)
            .await?;
        self.metrics.new_statements.inc();
        if let Some(at) = item.hint.published_at {
            let lag = (Utc::now() - at.with_timezone(&Utc)).num_seconds().max(0);
            self.metrics.lag_seconds.observe(lag as f64);
        }
        let at = entry
            .published_at
            .unwrap_or_else(|| entry.first_seen.fixed_offset());
        self.state
            .add_recent(lang, &item.doc_id, at, self.recheck_since())
            .await?;
        Ok(ItemResult::Published)
    }

    /// Publishes a fetched page and records it as seen (only after the acknowledgement).
    pub(super) async fn publish(
        &self,
        lang: Lang,
        doc_id: &str,
        page: &Page,
        hint: Option<ListingHint>,
        previous: Option<&SeenEntry>,
    ) -> Result<SeenEntry, FetcherError> {
        let now = Utc::now();
        let raw = raw_page(self.source.name(), doc_id, lang, page, hint.clone(), now);
        let sha = raw.body_sha256.clone();
        let duplicate = self.publisher.publish(raw, &page.body).await?;
        tracing::info!(doc_id, %lang, url = %page.url, duplicate, "published raw page");
        let validators = page.validators();
        let entry = SeenEntry {
            body_sha256: sha,
            etag: validators.etag,
            last_modified: validators.last_modified,
            published_at: hint
                .as_ref()
                .and_then(|h| h.published_at)
                .or(previous.and_then(|p| p.published_at)),
            first_seen: previous.map_or(now, |p| p.first_seen),
            url: Some(page.url.to_string()),
            listing: hint,
            checked_at: Some(now),
        };
        self.state.mark_seen(lang, doc_id, &entry).await?;
        Ok(entry)
    }
}

pub(super) fn log_poll(report: &PollReport) {
    tracing::info!(
        new = report.new,
        edited = report.edited,
        not_modified = report.not_modified,
        failed = report.failed.len(),
        "poll done"
    );
}

/// Adds `item`, or merges it into the item of the same document already found: the first
/// listing's URL is kept; missing fields are filled; a section listing's hint beats the feed's.
fn merge_item(items: &mut Vec<ListingItem>, index: &mut HashMap<String, usize>, item: ListingItem) {
    match index.get(&item.doc_id) {
        Some(&i) => {
            let known = &mut items[i];
            let from_feed = known.hint.section.as_deref() == Some("rss");
            if from_feed && item.hint.section.as_deref() != Some("rss") {
                let mut hint = item.hint.clone();
                hint.title = hint.title.or(known.hint.title.take());
                hint.published_at = hint.published_at.or(known.hint.published_at);
                if hint.tags.is_empty() {
                    hint.tags = std::mem::take(&mut known.hint.tags);
                }
                known.hint = hint;
                known.url = item.url;
            } else {
                known.hint.title = known.hint.title.take().or(item.hint.title);
                known.hint.published_at = known.hint.published_at.or(item.hint.published_at);
                if known.hint.tags.is_empty() {
                    known.hint.tags = item.hint.tags;
                }
            }
        }
        None => {
            index.insert(item.doc_id.clone(), items.len());
            items.push(item);
        }
    }
}

/// The section a listing item came from, as raw pages name it: its path with a leading `/`
/// (`/foreign_policy/news/`).
pub(super) fn section_label(path: &str) -> String {
    format!("/{}", path.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(doc: &str, section: &str, title: Option<&str>) -> ListingItem {
        ListingItem {
            doc_id: doc.into(),
            url: Url::parse(&format!("http://h{section}{doc}/")).unwrap(),
            hint: ListingHint {
                section: Some(section.into()),
                title: title.map(str::to_string),
                published_at: None,
                tags: vec![],
            },
        }
    }

    #[test]
    fn items_merge_by_doc_id_and_listings_beat_the_feed() {
        let mut items = Vec::new();
        let mut index = HashMap::new();
        merge_item(&mut items, &mut index, item("1", "rss", Some("Feed title")));
        merge_item(&mut items, &mut index, item("2", "/a/", None));
        merge_item(&mut items, &mut index, item("1", "/b/", None));
        merge_item(&mut items, &mut index, item("2", "/c/", Some("T2")));
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].hint.section.as_deref(), Some("/b/"));
        assert_eq!(items[0].hint.title.as_deref(), Some("Feed title"));
        assert_eq!(items[0].url.as_str(), "http://h/b/1/");
        assert_eq!(items[1].hint.section.as_deref(), Some("/a/"));
        assert_eq!(items[1].hint.title.as_deref(), Some("T2"));
    }

    #[test]
    fn section_labels_start_with_a_slash() {
        assert_eq!(
            section_label("foreign_policy/news/"),
            "/foreign_policy/news/"
        );
        assert_eq!(
            section_label("/events/president/news"),
            "/events/president/news"
        );
    }
}

//! The fetcher itself: polls (feed + listings → new statements → raw pages), re-checks
//! recent statements for edits, and backfills date ranges.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use chrono::{NaiveDate, Utc};
use futures_util::StreamExt;
use shared::messages::{Lang, ListingHint, hex_digest};
use shared::nats::NatsError;
use shared::subjects;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::FetchArgs;
use crate::http::{Fetched, Http, HttpError, HttpSettings, Page, Validators, human};
use crate::leader::{LeaseHandle, LeaseSettings, Standing};
use crate::lease::holder_id;
use crate::listing::{ListingItem, parse_feed, parse_listing};
use crate::metrics::Metrics;
use crate::ordered::in_order;
use crate::politeness::RetryPolicy;
use crate::publish::{PublishError, Publisher, raw_page};
use crate::source::{Source, SourceError};
use crate::state::{Checkpoint, SeenEntry, State, StateError};

/// Errors of the fetcher.
#[derive(Debug, thiserror::Error)]
pub enum FetcherError {
    /// The source's profile, `--base-url`, `--langs`.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The source has no date-filtered listing.
    #[error(
        "{0} has no date-filtered listing (its profile has no fetch.backfill), so it cannot be backfilled day by day; its polls read the newest listing pages"
    )]
    NoBackfill(String),
    /// HTTP client set-up.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// NATS.
    #[error(transparent)]
    Nats(#[from] NatsError),
    /// Key-value state.
    #[error(transparent)]
    State(#[from] StateError),
    /// Publishing.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Some pages or listings failed.
    #[error(
        "{what} could not finish: {count} listing(s) or page(s) failed (first: {first}); see the log, then run it again: what was published is kept and will not be repeated"
    )]
    Incomplete {
        /// `the poll` or `the backfill`.
        what: &'static str,
        /// How many failed.
        count: usize,
        /// The first failure.
        first: String,
    },
    /// Shutdown was requested before the work finished.
    #[error("shutdown requested before {0} finished; run it again to continue")]
    Cancelled(&'static str),
    /// Another replica holds the lease and did not let go in time.
    #[error(
        "could not become the active fetcher for {what} within {waited} (--lease-wait): {standing}. Another fetcher replica is running: wait for it to finish or stop it, then run again (the lease of a crashed replica lapses by itself after --lease-ttl)"
    )]
    LeaseHeld {
        /// `the poll` or `the backfill`.
        what: &'static str,
        /// How long this replica waited.
        waited: String,
        /// Who holds the lease, or why it could not be read.
        standing: String,
    },
    /// The lease was lost while working.
    #[error(
        "{0} stopped: this replica lost the lease (another replica took over, or NATS could not be reached to renew it); what was published is kept: run it again"
    )]
    LostLease(&'static str),
    /// Bad backfill range.
    #[error("backfill range {from} to {to} is empty: --from must not be after --to")]
    EmptyRange {
        /// From.
        from: NaiveDate,
        /// To.
        to: NaiveDate,
    },
}

/// What a poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Statement pages published for the first time.
    pub new: usize,
    /// Edited statements published again.
    pub edited: usize,
    /// Listings and feeds that answered 304.
    pub not_modified: usize,
    /// Failures (URL: reason).
    pub failed: Vec<String>,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Days walked by this run.
    pub days: u64,
    /// Pages published by this run.
    pub pages: u64,
    /// Days of the range in total.
    pub total_days: u64,
}

/// Everything the fetcher needs, built once.
pub struct Fetcher {
    http: Arc<Http>,
    state: State,
    kv: async_nats::jetstream::kv::Store,
    source: Source,
    poll_interval: Duration,
    holder: String,
    lease_ttl: Duration,
    lease_renew: Duration,
    lease_wait: Duration,
    publisher: Publisher,
    recheck_window: Duration,
    recheck_spacing: f64,
    concurrency: usize,
    metrics: Metrics,
    shutdown: CancellationToken,
}

enum ItemResult {
    Published,
    Known,
}

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
    /// Builds the fetcher on an open JetStream context (streams and bucket are created if
    /// missing).
    pub async fn new(
        args: &FetchArgs,
        client: &async_nats::Client,
        replicas: usize,
        metrics: Metrics,
        shutdown: CancellationToken,
    ) -> Result<Self, FetcherError> {
        let source = args.source()?;
        let politeness = &source.profile.fetch.politeness;
        let settings = HttpSettings {
            user_agent: args.user_agent.clone(),
            request_interval: args
                .request_interval
                .or(politeness.request_interval())
                .unwrap_or(crate::config::DEFAULT_REQUEST_INTERVAL),
            max_response_bytes: args.max_response_bytes,
            connect_timeout: args.connect_timeout,
            timeout: args.timeout,
            retry: RetryPolicy {
                max_attempts: args.max_attempts.max(1),
                base: args.retry_base,
                max: args.retry_max.max(args.retry_base),
            },
            circuit_threshold: args.circuit_threshold,
            circuit_cooldown: args.circuit_cooldown,
            extra_ca_file: args.extra_ca_file.clone(),
            anti_bot: source.profile.fetch.anti_bot.clone(),
            soft_404: source.profile.fetch.soft_404.clone(),
            robots_txt: politeness.robots_txt,
        };
        let http = Http::new(
            source.site.clone(),
            settings,
            metrics.clone(),
            shutdown.clone(),
        )?;
        let js = jetstream::new(client.clone());
        shared::nats::ensure_streams(&js, replicas, &shutdown).await?;
        let kv =
            shared::nats::ensure_kv(&js, subjects::FETCHER_BUCKET, 1, replicas, &shutdown).await?;
        let state = State::new(kv.clone(), subjects::FETCHER_BUCKET, source.token());
        let max_payload = match client.server_info().max_payload {
            0 => 1024 * 1024,
            n => n,
        };
        let publisher = Publisher::new(js, max_payload, replicas);
        let lease_ttl = args.lease_ttl.max(Duration::from_secs(1));
        Ok(Fetcher {
            http: Arc::new(http),
            state,
            kv,
            poll_interval: args
                .poll_interval
                .unwrap_or(crate::config::DEFAULT_POLL_INTERVAL),
            source,
            holder: replica_id(),
            lease_ttl,
            lease_renew: args
                .lease_renew
                .max(Duration::from_millis(100))
                .min(lease_ttl / 2),
            lease_wait: args.lease_wait,
            publisher,
            recheck_window: args.recheck_window,
            recheck_spacing: args.recheck_spacing,
            concurrency: args.fetch_concurrency.max(1) as usize,
            metrics,
            shutdown,
        })
    }

    /// Polls continuously every `interval` until shutdown, without the leader lease (see
    /// [`Fetcher::run_with_lease`], which the binary uses). Failed polls are logged and
    /// retried at the next interval.
    pub async fn run(&self, interval: Duration) -> Result<(), FetcherError> {
        loop {
            match self.poll().await {
                Ok(report) => log_poll(&report),
                Err(FetcherError::Cancelled(_)) => return Ok(()),
                Err(err) => {
                    tracing::error!(error = %err, "poll failed; trying again at the next poll")
                }
            }
            tracing::info!("next poll in {}", human(interval));
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// This replica's id in the lease (`host-pid-random`).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The source fetched.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Time between polls: `--poll-interval`, else the profile's, else 10 minutes.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Starts keeping the lease of the source: `lease.{token}` for polls (`lease.mid_ru`),
    /// `lease.{token}.backfill` for backfills (one backfill at a time, independent of the
    /// poller). Fetchers of different sources hold different leases.
    pub fn lease(&self, backfill: bool) -> LeaseHandle {
        let token = self.source.token();
        let name = self.source.name();
        let (key, what) = if backfill {
            (
                format!("lease.{token}.backfill"),
                format!("the {name} backfill"),
            )
        } else {
            (format!("lease.{token}"), name.to_string())
        };
        LeaseHandle::start(
            self.kv.clone(),
            LeaseSettings {
                key,
                what,
                holder: self.holder.clone(),
                ttl: self.lease_ttl,
                renew: self.lease_renew,
            },
            self.metrics.leader.clone(),
        )
    }

    /// Waits (up to `--lease-wait`) until this replica holds `lease`, then runs `work`,
    /// stopping it at once if the lease is lost. For `--once` and `backfill`.
    pub async fn with_lease<T>(
        &self,
        lease: &mut LeaseHandle,
        what: &'static str,
        work: impl Future<Output = Result<T, FetcherError>>,
    ) -> Result<T, FetcherError> {
        if let Err(standing) = lease
            .wait_leading(&self.shutdown, Some(self.lease_wait))
            .await
        {
            if self.shutdown.is_cancelled() {
                return Err(FetcherError::Cancelled(what));
            }
            return Err(FetcherError::LeaseHeld {
                what,
                waited: human(self.lease_wait),
                standing: describe(&standing),
            });
        }
        self.state.clear_cache().await;
        tokio::select! {
            result = work => result,
            _ = lease.lost() => Err(FetcherError::LostLease(what)),
        }
    }

    /// Polls every `interval` while this replica holds `lease`, standing by otherwise, until
    /// shutdown. A poll stops at once when the lease is lost; a replica that becomes the
    /// active one polls at once.
    pub async fn run_with_lease(
        &self,
        interval: Duration,
        lease: &mut LeaseHandle,
    ) -> Result<(), FetcherError> {
        loop {
            if lease.wait_leading(&self.shutdown, None).await.is_err() {
                return Ok(());
            }
            // Another replica may have changed the listings' validators meanwhile.
            self.state.clear_cache().await;
            let outcome = tokio::select! {
                result = self.poll() => Some(result),
                _ = lease.lost() => None,
            };
            match outcome {
                None => {
                    tracing::warn!("poll stopped: this replica is no longer the active poller");
                    continue;
                }
                Some(Ok(report)) => log_poll(&report),
                Some(Err(FetcherError::Cancelled(_))) => return Ok(()),
                Some(Err(err)) => {
                    tracing::error!(error = %err, "poll failed; trying again at the next poll")
                }
            }
            tracing::info!("next poll in {}", human(interval));
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

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
    async fn fetch_new(&self, lang: Lang, item: &ListingItem) -> Result<ItemResult, FetcherError> {
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
    async fn publish(
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

    fn recheck_since(&self) -> chrono::DateTime<Utc> {
        let window =
            chrono::Duration::from_std(self.recheck_window).unwrap_or(chrono::Duration::MAX);
        Utc::now()
            .checked_sub_signed(window)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
    }

    /// Conditional GETs of the statements published within the recheck window; a changed
    /// body is published again.
    async fn recheck(
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

/// A standing, for error messages.
fn describe(standing: &Standing) -> String {
    match standing {
        Standing::Standby { holder, until } => {
            format!("replica {holder} holds the lease until {until} and keeps renewing it")
        }
        Standing::Unreachable { reason } => {
            format!("the lease cannot be read or written ({reason})")
        }
        Standing::Unknown | Standing::Leading => "the lease could not be read yet".to_string(),
    }
}

/// `host-pid-random`: the host name from `HOSTNAME` or the kernel.
fn replica_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .unwrap_or_default();
    holder_id(&host, std::process::id(), fastrand::u32(..))
}

fn log_poll(report: &PollReport) {
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
fn section_label(path: &str) -> String {
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

//! Caches of answers that stay right while nothing new has been stored: the result pages of
//! recent searches (ids, snippets and the next cursor, not the records, which are read fresh
//! for every answer), the bodies of recent listing pages and of recently read records.
//!
//! Every stored version adds an event (`speech_events`, numbered in commit order even with
//! several sinks writing), so the newest event number read *before* an answer was computed is
//! a tag it is valid for: the answer is served again only while the newest event number is
//! still that tag, and the first answer computed after a newer event drops every older one.
//! The caches are pure logic, no I/O: the caller reads the tag from the store, through a
//! [`TagReader`] that lets the requests waiting at the same moment share one read.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use crate::store::{Cursor, Query};

/// One cached search page.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPage {
    /// The ids of the page's records in order, each with its snippet.
    pub hits: Vec<(String, Option<String>)>,
    /// Where the search continues.
    pub next_cursor: Option<Cursor>,
}

/// What a cached value costs of the cache's budget.
pub trait Weight {
    /// The value's share of the budget.
    fn weight(&self) -> usize;
}

/// A search page counts one: the search cache's budget is a number of pages.
impl Weight for CachedPage {
    fn weight(&self) -> usize {
        1
    }
}

/// A response body counts its bytes: the listing cache's budget is a number of bytes.
impl Weight for Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

#[derive(Debug)]
struct Entries<V> {
    /// The newest event number the entries are valid for.
    tag: i64,
    values: HashMap<String, (Arc<V>, usize)>,
    /// Keys, oldest first (the oldest is dropped when the budget is spent).
    order: VecDeque<String>,
    /// The weight of every entry together.
    used: usize,
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries {
            tag: 0,
            values: HashMap::new(),
            order: VecDeque::new(),
            used: 0,
        }
    }
}

/// Answers of recent queries, valid while the newest stored event is unchanged, up to a
/// budget of their total weight (0: caching is off).
#[derive(Debug)]
pub struct TaggedCache<V> {
    budget: usize,
    entries: Mutex<Entries<V>>,
}

/// Search result pages, counted in pages.
pub type SearchCache = TaggedCache<CachedPage>;

/// Response bodies (listing pages, records), counted in bytes.
pub type BodyCache = TaggedCache<Bytes>;

/// The cache key of a query (every field: filters, text, limit and cursor).
pub fn query_key(query: &Query) -> String {
    format!("{query:?}")
}

impl<V: Weight> TaggedCache<V> {
    /// A cache of values weighing up to `budget` together.
    pub fn new(budget: usize) -> TaggedCache<V> {
        TaggedCache {
            budget,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Whether anything is cached at all.
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The answer kept under `key` when the newest event was `tag`, if that is still the
    /// newest event.
    pub fn get(&self, key: &str, tag: i64) -> Option<Arc<V>> {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.tag != tag {
            return None;
        }
        entries.values.get(key).map(|(v, _)| v.clone())
    }

    /// Keeps the answer under `key`, computed after the newest event was read as `tag`. An
    /// answer heavier than the whole budget is not kept.
    pub fn put(&self, key: String, tag: i64, value: V) {
        let weight = value.weight();
        if !self.enabled() || weight > self.budget {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if tag < entries.tag {
            // Computed before something newer was stored: it may already be stale.
            return;
        }
        if tag > entries.tag {
            entries.values.clear();
            entries.order.clear();
            entries.used = 0;
            entries.tag = tag;
        }
        match entries
            .values
            .insert(key.clone(), (Arc::new(value), weight))
        {
            Some((_, old)) => entries.used -= old,
            None => entries.order.push_back(key),
        }
        entries.used += weight;
        while entries.used > self.budget {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some((_, w)) = entries.values.remove(&oldest) {
                entries.used -= w;
            }
        }
    }
}

/// Reads of the newest event number shared by the requests that wait for one. A call takes
/// the value of a read that started after it was made, so it is exactly as fresh as a read of
/// its own; while one read runs, the calls made meanwhile wait for the next one, which serves
/// them all (with 64 clients, one database query answers many requests instead of one each).
#[derive(Debug, Default)]
pub struct TagReader {
    /// Reads started so far.
    started: AtomicU64,
    /// The number and value of the last finished read; held while a read runs.
    last: tokio::sync::Mutex<(u64, i64)>,
}

impl TagReader {
    /// The newest event number, from `read` or from a read by another call that started
    /// after this call was made. An error reaches the call whose read failed; the calls
    /// waiting for it read again.
    pub async fn read<F, Fut, E>(&self, read: F) -> Result<i64, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<i64, E>>,
    {
        // Every read numbered from `needed` on starts after this line.
        let needed = self.started.load(Ordering::SeqCst) + 1;
        let mut last = self.last.lock().await;
        if last.0 >= needed {
            return Ok(last.1);
        }
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let value = read().await?;
        *last = (number, value);
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicI64;

    use super::*;

    fn key(query: &Query) -> String {
        query_key(query)
    }

    fn search(q: &str) -> Query {
        Query {
            q: Some(q.into()),
            ..Query::default()
        }
    }

    fn page(id: &str) -> CachedPage {
        CachedPage {
            hits: vec![(id.into(), Some(format!("<mark>{id}</mark>")))],
            next_cursor: Some(Cursor::Offset(50)),
        }
    }

    #[test]
    fn a_page_is_served_while_nothing_new_is_stored() {
        let cache = SearchCache::new(8);
        cache.put(key(&search("court")), 7, page("a"));
        assert_eq!(
            cache.get(&key(&search("court")), 7).as_deref(),
            Some(&page("a"))
        );
        assert_eq!(cache.get(&key(&search("courts")), 7), None);
        let later_page = Query {
            cursor: Some(Cursor::Offset(50)),
            ..search("court")
        };
        assert_eq!(cache.get(&key(&later_page), 7), None);
        // Something was stored: the page is not served, and a newer page replaces it.
        assert_eq!(cache.get(&key(&search("court")), 8), None);
        cache.put(key(&search("court")), 8, page("b"));
        assert_eq!(
            cache.get(&key(&search("court")), 8).as_deref(),
            Some(&page("b"))
        );
        assert_eq!(cache.get(&key(&search("court")), 7), None);
    }

    #[test]
    fn a_page_computed_before_a_newer_one_is_not_kept() {
        let cache = SearchCache::new(8);
        cache.put(key(&search("court")), 8, page("new"));
        cache.put(key(&search("law")), 7, page("old"));
        assert_eq!(cache.get(&key(&search("law")), 8), None);
        assert_eq!(cache.get(&key(&search("law")), 7), None);
        assert!(cache.get(&key(&search("court")), 8).is_some());
    }

    #[test]
    fn the_oldest_page_goes_when_full_and_zero_turns_it_off() {
        let cache = SearchCache::new(2);
        for q in ["a", "b", "c"] {
            cache.put(key(&search(q)), 1, page(q));
        }
        assert_eq!(cache.get(&key(&search("a")), 1), None);
        assert!(cache.get(&key(&search("b")), 1).is_some());
        assert!(cache.get(&key(&search("c")), 1).is_some());
        let off = SearchCache::new(0);
        off.put(key(&search("a")), 1, page("a"));
        assert!(!off.enabled());
        assert_eq!(off.get(&key(&search("a")), 1), None);
    }

    #[test]
    fn bodies_are_kept_within_a_byte_budget() {
        let listing = |kind: &str| Query {
            speaker: Some(kind.into()),
            ..Query::default()
        };
        let cache = BodyCache::new(10);
        cache.put(key(&listing("a")), 3, Bytes::from_static(b"aaaa"));
        cache.put(key(&listing("b")), 3, Bytes::from_static(b"bbbb"));
        assert_eq!(
            cache.get(&key(&listing("a")), 3).as_deref(),
            Some(&Bytes::from_static(b"aaaa"))
        );
        // Over the budget: the oldest goes.
        cache.put(key(&listing("c")), 3, Bytes::from_static(b"cccc"));
        assert_eq!(cache.get(&key(&listing("a")), 3), None);
        assert!(cache.get(&key(&listing("b")), 3).is_some());
        // The same key again replaces its value and its weight.
        cache.put(key(&listing("c")), 3, Bytes::from_static(b"cc"));
        cache.put(key(&listing("d")), 3, Bytes::from_static(b"dddd"));
        assert!(cache.get(&key(&listing("b")), 3).is_some());
        assert_eq!(
            cache.get(&key(&listing("c")), 3).as_deref(),
            Some(&Bytes::from_static(b"cc"))
        );
        // A body heavier than the whole budget is never kept, and evicts nothing.
        cache.put(key(&listing("e")), 3, Bytes::from(vec![b'e'; 11]));
        assert_eq!(cache.get(&key(&listing("e")), 3), None);
        assert!(cache.get(&key(&listing("d")), 3).is_some());
    }

    #[tokio::test]
    async fn a_tag_read_serves_the_calls_made_before_it_started_and_no_earlier_one() {
        let reader = Arc::new(TagReader::default());
        let reads = Arc::new(AtomicU64::new(0));
        let newest = Arc::new(AtomicI64::new(1));
        let call = |gate: Option<tokio::sync::oneshot::Receiver<()>>| {
            let (reader, reads, newest) = (reader.clone(), reads.clone(), newest.clone());
            tokio::spawn(async move {
                reader
                    .read(|| async move {
                        reads.fetch_add(1, Ordering::SeqCst);
                        let value = newest.load(Ordering::SeqCst);
                        if let Some(gate) = gate {
                            gate.await.ok();
                        }
                        Ok::<i64, std::convert::Infallible>(value)
                    })
                    .await
            })
        };
        let (open, gate) = tokio::sync::oneshot::channel();
        let first = call(Some(gate));
        while reads.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Stored while the first read runs: the calls made now must see it.
        newest.store(2, Ordering::SeqCst);
        let later: Vec<_> = (0..5).map(|_| call(None)).collect();
        tokio::task::yield_now().await;
        open.send(()).ok();
        assert_eq!(first.await.ok().and_then(Result::ok), Some(1));
        for call in later {
            assert_eq!(call.await.ok().and_then(Result::ok), Some(2));
        }
        // The five later calls shared one read.
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        // A call made after every read finished reads again.
        newest.store(3, Ordering::SeqCst);
        assert_eq!(call(None).await.ok().and_then(Result::ok), Some(3));
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }
}

//! The search cache: the result pages of recent searches (ids, snippets and the next cursor,
//! not the records, which are read fresh for every answer), kept only while nothing new has
//! been stored.
//!
//! Every stored version adds an event (`speech_events`, numbered in commit order even with
//! several sinks writing), so the newest event number read *before* a search ran is a tag
//! its page is valid for: the page is served again only while the newest event number is
//! still that tag, and the first page computed after a newer event drops every older one.
//! Pure logic, no I/O: the caller reads the tag from the store.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::{Cursor, Query};

/// One cached search page.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPage {
    /// The ids of the page's records in order, each with its snippet.
    pub hits: Vec<(String, Option<String>)>,
    /// Where the search continues.
    pub next_cursor: Option<Cursor>,
}

#[derive(Debug, Default)]
struct Entries {
    /// The newest event number the entries are valid for.
    tag: i64,
    pages: HashMap<String, Arc<CachedPage>>,
    /// Keys, oldest first (the oldest is dropped when the cache is full).
    order: VecDeque<String>,
}

/// The most recent search pages, up to a number of them (0: caching is off).
#[derive(Debug)]
pub struct SearchCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

/// The cache key of a query (every field: filters, text, limit and cursor).
fn key(query: &Query) -> String {
    format!("{query:?}")
}

impl SearchCache {
    /// A cache of up to `capacity` pages.
    pub fn new(capacity: usize) -> SearchCache {
        SearchCache {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Whether pages are cached at all.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The page of `query` cached when the newest event was `tag`, if that is still the
    /// newest event.
    pub fn get(&self, query: &Query, tag: i64) -> Option<Arc<CachedPage>> {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.tag != tag {
            return None;
        }
        entries.pages.get(&key(query)).cloned()
    }

    /// Keeps the page of `query`, computed after the newest event was read as `tag`.
    pub fn put(&self, query: &Query, tag: i64, page: CachedPage) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if tag < entries.tag {
            // Computed before something newer was stored: it may already be stale.
            return;
        }
        if tag > entries.tag {
            entries.pages.clear();
            entries.order.clear();
            entries.tag = tag;
        }
        let key = key(query);
        if entries.pages.insert(key.clone(), Arc::new(page)).is_none() {
            entries.order.push_back(key);
        }
        while entries.pages.len() > self.capacity {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.pages.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        cache.put(&search("court"), 7, page("a"));
        assert_eq!(cache.get(&search("court"), 7).as_deref(), Some(&page("a")));
        assert_eq!(cache.get(&search("courts"), 7), None);
        let later_page = Query {
            cursor: Some(Cursor::Offset(50)),
            ..search("court")
        };
        assert_eq!(cache.get(&later_page, 7), None);
        // Something was stored: the page is not served, and a newer page replaces it.
        assert_eq!(cache.get(&search("court"), 8), None);
        cache.put(&search("court"), 8, page("b"));
        assert_eq!(cache.get(&search("court"), 8).as_deref(), Some(&page("b")));
        assert_eq!(cache.get(&search("court"), 7), None);
    }

    #[test]
    fn a_page_computed_before_a_newer_one_is_not_kept() {
        let cache = SearchCache::new(8);
        cache.put(&search("court"), 8, page("new"));
        cache.put(&search("law"), 7, page("old"));
        assert_eq!(cache.get(&search("law"), 8), None);
        assert_eq!(cache.get(&search("law"), 7), None);
        assert!(cache.get(&search("court"), 8).is_some());
    }

    #[test]
    fn the_oldest_page_goes_when_full_and_zero_turns_it_off() {
        let cache = SearchCache::new(2);
        for q in ["a", "b", "c"] {
            cache.put(&search(q), 1, page(q));
        }
        assert_eq!(cache.get(&search("a"), 1), None);
        assert!(cache.get(&search("b"), 1).is_some());
        assert!(cache.get(&search("c"), 1).is_some());
        let off = SearchCache::new(0);
        off.put(&search("a"), 1, page("a"));
        assert!(!off.enabled());
        assert_eq!(off.get(&search("a"), 1), None);
    }
}

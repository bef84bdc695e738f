//! The one bounded-concurrency helper of the fetcher: runs one future per item of a slice, at
//! most `limit` at a time, and yields the results in the slice's order, each with its item.
//!
//! Polls (listings, then statements), re-checks and backfills (a day's listings, then its
//! statements) all use it, so they share one behaviour: work starts in order, results are read
//! in order (reports and logs read as one at a time), and dropping the stream drops whatever
//! is still in flight at its next await (shutdown, a lost lease).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use futures_util::stream::{FuturesOrdered, StreamExt as _};

/// Results of `start(item)` for every item, in order, with at most `limit` futures in flight.
/// Built by [`in_order`].
pub struct InOrder<'a, T, F, Fut: Future> {
    items: &'a [T],
    start: F,
    running: FuturesOrdered<Fut>,
    started: usize,
    done: usize,
    limit: usize,
    first_alone: bool,
}

/// Runs `start(item)` for each of `items`, at most `limit` (at least 1) at a time, and yields
/// `(item, output)` in the items' order. A new future starts when fewer than `limit` are
/// running or waiting to be taken (a finished result keeps its place until it is yielded);
/// nothing starts before the stream is polled.
pub fn in_order<'a, T, F, Fut>(items: &'a [T], limit: usize, start: F) -> InOrder<'a, T, F, Fut>
where
    F: FnMut(&'a T) -> Fut,
    Fut: Future,
{
    InOrder {
        items,
        start,
        running: FuturesOrdered::new(),
        started: 0,
        done: 0,
        limit: limit.max(1),
        first_alone: false,
    }
}

impl<'a, T, F, Fut> InOrder<'a, T, F, Fut>
where
    F: FnMut(&'a T) -> Fut,
    Fut: Future,
{
    /// The first item runs alone: the others start only once it finished (a poll's feed
    /// request marks where the poll begins in the site's access log).
    pub fn first_alone(mut self) -> Self {
        self.first_alone = true;
        self
    }
}

impl<'a, T, F, Fut> Stream for InOrder<'a, T, F, Fut>
where
    F: FnMut(&'a T) -> Fut + Unpin,
    Fut: Future,
{
    type Item = (&'a T, Fut::Output);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let limit = if this.first_alone && this.done == 0 {
            1
        } else {
            this.limit
        };
        while this.running.len() < limit && this.started < this.items.len() {
            let item = &this.items[this.started];
            this.running.push_back((this.start)(item));
            this.started += 1;
        }
        match this.running.poll_next_unpin(cx) {
            Poll::Ready(Some(output)) => {
                let item = &this.items[this.done];
                this.done += 1;
                Poll::Ready(Some((item, output)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// What the jobs did: the order of starts and ends, and the most running at once.
    #[derive(Default)]
    struct Log {
        events: Vec<String>,
        running: usize,
        most: usize,
    }

    /// Yields to the executor `turns` times (no clock: the order is deterministic).
    async fn job(log: &RefCell<Log>, id: u64, turns: u32) -> u64 {
        {
            let mut log = log.borrow_mut();
            log.events.push(format!("start {id}"));
            log.running += 1;
            log.most = log.most.max(log.running);
        }
        for _ in 0..turns {
            tokio::task::yield_now().await;
        }
        let mut log = log.borrow_mut();
        log.events.push(format!("end {id}"));
        log.running -= 1;
        id * 10
    }

    #[tokio::test]
    async fn results_come_in_order_with_at_most_limit_running() {
        let log = RefCell::new(Log::default());
        let items = [(1, 30), (2, 1), (3, 10), (4, 0), (5, 3)];
        let results: Vec<(u64, u64)> = in_order(&items, 2, |&(id, turns)| job(&log, id, turns))
            .map(|(item, out)| (item.0, out))
            .collect()
            .await;
        assert_eq!(results, vec![(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)]);
        let log = log.into_inner();
        assert_eq!(log.most, 2);
        // A finished result keeps its place in the window until it is taken: 2 ends first,
        // yet 3 starts only after 1 ended.
        let at = |e: &str| log.events.iter().position(|x| x == e).unwrap();
        assert!(at("end 2") < at("end 1"));
        assert!(at("end 1") < at("start 3"));
    }

    #[tokio::test]
    async fn the_first_item_can_run_alone() {
        let log = RefCell::new(Log::default());
        let items = [(1, 5), (2, 5), (3, 5), (4, 5)];
        let count = in_order(&items, 3, |&(id, turns)| job(&log, id, turns))
            .first_alone()
            .count()
            .await;
        assert_eq!(count, 4);
        let log = log.into_inner();
        assert_eq!(
            log.events[..3],
            ["start 1", "end 1", "start 2"].map(String::from)
        );
        assert_eq!(log.most, 3);
    }

    #[tokio::test]
    async fn a_limit_of_zero_counts_as_one() {
        let log = RefCell::new(Log::default());
        let items = [(1, 3), (2, 0)];
        let count = in_order(&items, 0, |&(id, turns)| job(&log, id, turns))
            .count()
            .await;
        assert_eq!(count, 2);
        assert_eq!(
            log.into_inner().events,
            ["start 1", "end 1", "start 2", "end 2"].map(String::from)
        );
    }

    #[tokio::test]
    async fn nothing_starts_before_the_stream_is_polled_and_empty_input_ends() {
        let calls = RefCell::new(0);
        let items = [1, 2];
        let stream = in_order(&items, 2, |_| {
            *calls.borrow_mut() += 1;
            async {}
        });
        assert_eq!(*calls.borrow(), 0);
        drop(stream);
        let none: [u8; 0] = [];
        assert_eq!(in_order(&none, 3, |_| async {}).count().await, 0);
    }
}

//! The Markdown report of the archive benchmark.

use std::fmt::Write as _;

use crate::exports::Export;
use crate::loadgen::{Load, Run};
use crate::queries::Shape;
use crate::rss::mb;
use crate::writes::Written;

/// Everything measured, per store.
pub struct Report {
    records: u64,
    stores: Vec<StoreFigures>,
}

struct StoreFigures {
    name: String,
    /// `None` when the archive was written by an earlier run (`--database-url`).
    written: Option<Written>,
    shapes: Vec<Shape>,
    exports: Vec<Export>,
    load: Option<Load>,
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{cpu}, {cores} cores, {mem_gib:.0} GiB")
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "**missed**" }
}

fn percentiles(shape: &Shape) -> String {
    format!(
        "{:.1} / {:.1} / {:.1}",
        shape.stats.ms(0.5),
        shape.stats.ms(0.95),
        shape.stats.ms(0.99)
    )
}

impl Report {
    /// An empty report for an archive of `records`.
    pub fn new(records: &u64) -> Report {
        Report {
            records: *records,
            stores: Vec::new(),
        }
    }

    /// Adds one store's figures.
    pub fn add(
        &mut self,
        name: &str,
        written: Option<Written>,
        shapes: Vec<Shape>,
        exports: Vec<Export>,
        load: Option<Load>,
    ) {
        self.stores.push(StoreFigures {
            name: name.to_string(),
            written,
            shapes,
            exports,
            load,
        });
    }

    /// The Markdown text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Archive benchmark\n\n{} generated records (`testkit::archive`), {}, {} UTC, release build.\n",
            self.records,
            machine(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M")
        );
        self.render_writes(&mut out);
        self.render_shapes(&mut out);
        self.render_exports(&mut out);
        for store in &self.stores {
            if let Some(load) = &store.load {
                render_load(&mut out, &store.name, load);
            }
        }
        out
    }

    fn render_writes(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "## Writes (`Store::store_batch`, batches of {})\n\n| store | overall | last tenth (into the full archive) | edits (second versions) | VACUUM/ANALYZE | budget ≥ 2,000/s |\n| --- | --- | --- | --- | --- | --- |",
            crate::writes::BATCH
        );
        for s in &self.stores {
            let Some(w) = &s.written else {
                let _ = writeln!(
                    out,
                    "| {} | written by an earlier run (`--database-url`) | | | | |",
                    s.name
                );
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {:.0} records/s ({:.0} s) | {:.0} records/s | {} at {:.0}/s | {:.1} s | {} |",
                s.name,
                w.rate(),
                w.store_time.as_secs_f64(),
                w.last_tenth_rate(),
                w.edits,
                w.edit_rate(),
                w.analyze_time.as_secs_f64(),
                verdict(w.last_tenth_rate() >= 2_000.0)
            );
        }
        out.push('\n');
    }

    fn render_shapes(&self, out: &mut String) {
        let _ = write!(
            out,
            "## Query shapes over HTTP, one at a time, the sink's caches off (ms p50 / p95 / p99)\n\n| shape |"
        );
        for s in &self.stores {
            let _ = write!(out, " {} | budget p95 |", s.name);
        }
        let _ = write!(out, " first page |\n| --- |");
        for _ in &self.stores {
            out.push_str(" --- | --- |");
        }
        out.push_str(" --- |\n");
        let Some(first) = self.stores.first() else {
            return;
        };
        for (i, shape) in first.shapes.iter().enumerate() {
            let _ = write!(out, "| {} |", shape.name);
            for s in &self.stores {
                let Some(mine) = s.shapes.get(i) else {
                    out.push_str(" | |");
                    continue;
                };
                let budget = mine.budget.p95_ms(&s.name);
                let _ = write!(
                    out,
                    " {} | ≤ {budget:.0} {} |",
                    percentiles(mine),
                    verdict(mine.stats.ms(0.95) <= budget)
                );
            }
            let _ = writeln!(out, " {} |", shape.answer);
        }
        let _ = writeln!(
            out,
            "\n{} timed requests per shape after 3 warm-up requests; rare words and record ids vary between requests.\n",
            first.shapes.first().map_or(0, |s| s.stats.len())
        );
    }

    fn render_exports(&self, out: &mut String) {
        out.push_str("## Exports of the whole archive\n\n| store | export | size | time | speed | RSS of the exporting process (start → peak) |\n| --- | --- | --- | --- | --- | --- |\n");
        for s in &self.stores {
            for e in &s.exports {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.0} MB | {:.1} s | {:.1} MB/s | {} |",
                    s.name,
                    e.name,
                    e.bytes as f64 / 1e6,
                    e.took.as_secs_f64(),
                    e.mb_per_s(),
                    e.rss.text()
                );
            }
        }
        out.push('\n');
    }
}

fn render_run(out: &mut String, title: &str, run: &Run) {
    let secs = run.took.as_secs_f64();
    let _ = writeln!(
        out,
        "### {title}: {} clients, {secs:.0} s\n\n| request | 200/s | p50 ms | p99 ms | 503 + Retry-After | 503 p99 ms | errors |\n| --- | --- | --- | --- | --- | --- | --- |",
        run.clients
    );
    let (mut ok, mut shed, mut errors) = (0, 0, 0);
    for (name, k) in &run.kinds {
        ok += k.ok;
        shed += k.shed;
        errors += k.errors;
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {:.1} | {:.1} | {} | {} | {} |",
            k.ok as f64 / secs,
            k.ok_stats.ms(0.5),
            k.ok_stats.ms(0.99),
            k.shed,
            if k.shed > 0 {
                format!("{:.1}", k.shed_stats.ms(0.99))
            } else {
                "–".into()
            },
            k.errors
        );
    }
    let list_get: u64 = ["list", "get"]
        .iter()
        .filter_map(|name| run.kinds.get(name).map(|k| k.ok))
        .sum();
    let _ = writeln!(
        out,
        "| list + get | {:.0} | | | | | |",
        list_get as f64 / secs
    );
    let _ = writeln!(
        out,
        "| all | {:.0} | | | {shed} | | {errors} |\n\nSink RSS {} (peak {} MB; budget ≤ 100 MB: {}).{}\n",
        ok as f64 / secs,
        run.rss.text(),
        mb(run.rss.peak),
        verdict(run.rss.peak <= 100 * 1024),
        run.first_error
            .as_ref()
            .map(|e| format!(" First error: {e}"))
            .unwrap_or_default()
    );
}

fn render_load(out: &mut String, store: &str, load: &Load) {
    let _ = writeln!(out, "## Under load ({store})\n");
    let title = if load.kinds.len() == crate::loadgen::KINDS.len() {
        "Mix of 40 % list, 30 % get, 20 % search, 10 % feed".to_string()
    } else {
        format!(
            "Only {} (of the mix of 40 % list, 30 % get, 20 % search, 10 % feed)",
            load.kinds.join(", ")
        )
    };
    render_run(out, &title, &load.mixed);
    render_run(
        out,
        "Overload: searches from four times the concurrency limit (64)",
        &load.overload,
    );
}

//! Parse speed, beside a bare html5ever parse (`scraper::Html::parse_document`) of the same
//! pages, on two corpora: the fixture statement pages, and real-size pages made from them
//! (20–40 KB with the site's full chrome, see `pages`). Measured in-process (the service's
//! extraction, with its breakdown: decode, DOM build, DOM extraction, grammar, hashing,
//! serialisation) and as a user runs it (`parser parse FILE... > records.jsonl`, the release
//! binary). Plain std timing, no harness: `cargo bench -p parser` (via scripts/bench).
//! Targets: in-service extraction ≤ 1.3 × the bare parse, the CLI ≤ 1.5 ×.

mod cli;
mod pages;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use parser::{Extractor, PageInput};
use shared::SpeechRecord;

use pages::Page;

/// Real-size variants made from each fixture page.
const VARIANTS: usize = 5;
/// The fixture pages' ratio must not get worse than the first figure (2026-11-28).
const FIXTURE_TARGET: f64 = 1.46;
/// Issue 12's budget for the in-service extraction of real-size pages.
const REAL_SIZE_TARGET: f64 = 1.30;

/// Times single passes of every workload, interleaved (so that load from other processes hits
/// them alike), for about `budget`; returns each workload's fastest and median pass, seconds.
fn measure_all(budget: Duration, work: &mut [&mut dyn FnMut()]) -> Vec<(f64, f64)> {
    for w in work.iter_mut() {
        w(); // warm up
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); work.len()];
    let started = Instant::now();
    while started.elapsed() < budget || samples[0].len() < 9 {
        for (w, s) in work.iter_mut().zip(samples.iter_mut()) {
            let t = Instant::now();
            w();
            s.push(t.elapsed().as_secs_f64());
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            (s[0], s[s.len() / 2])
        })
        .collect()
}

fn input<'a>(page: &'a Page, fetched_at: chrono::DateTime<Utc>) -> PageInput<'a> {
    PageInput {
        bytes: &page.bytes,
        source: None,
        url: None,
        fetch_url: Some(&page.fetch_url),
        content_type: Some(&page.content_type),
        fetched_at,
        listing: None,
        lang: None,
    }
}

fn extract_all(extractor: &Extractor, pages: &[Page]) -> Vec<SpeechRecord> {
    let fetched_at = Utc::now();
    pages
        .iter()
        .map(|page| {
            extractor
                .extract(&input(page, fetched_at))
                .expect("every benchmark page extracts")
        })
        .collect()
}

/// Measures one corpus; with `cli`, also the release `parser parse` over it.
/// Measures `pages` and prints the figures; `target` is the ratio the corpus is held to.
fn bench(
    extractor: &Extractor,
    name: &str,
    pages: &[Page],
    budget: Duration,
    cli: bool,
    target: f64,
) {
    let mid = extractor.source("mid.ru").expect("the mid.ru profile");
    let total_bytes: usize = pages.iter().map(|p| p.bytes.len()).sum();
    let decoded: Vec<String> = pages
        .iter()
        .map(|p| parser::charset::decode(&p.bytes, Some(&p.content_type)).into_owned())
        .collect();
    let records = extract_all(extractor, pages);
    let fetched_at = Utc::now();
    let cli_run = cli.then(|| cli::CliRun::new(pages));

    let mut extract = || {
        for page in pages {
            black_box(extractor.extract(&input(page, fetched_at)).ok());
        }
    };
    let mut parse = || {
        for text in &decoded {
            black_box(scraper::Html::parse_document(text));
        }
    };
    let mut decode = || {
        for page in pages {
            black_box(parser::charset::decode(
                &page.bytes,
                Some(&page.content_type),
            ));
        }
    };
    let mut parts = || {
        for text in &decoded {
            let html = scraper::Html::parse_document(text);
            black_box(parser::page::extract_parts(&html, mid.page_rules()));
        }
    };
    let mut hash = || {
        for record in &records {
            black_box(record.compute_content_hash());
        }
    };
    let mut grammar = || {
        for record in &records {
            black_box(parser::turns::split_turns(
                &record.paragraphs,
                mid.registry(),
                None,
                mid.labels(),
            ));
            black_box(mid.registry().find_all(&record.title));
            black_box(mid.title_grammar().parse_tail(&record.title, mid.dates()));
            black_box(mid.kinds().classify(&record.title, record.lang));
        }
    };
    let mut serialise = || {
        for record in &records {
            black_box(serde_json::to_string(record).ok());
        }
    };
    let mut run_cli = || {
        if let Some(run) = &cli_run {
            run.run();
        }
    };
    let results = measure_all(
        budget,
        &mut [
            &mut extract,
            &mut parse,
            &mut decode,
            &mut parts,
            &mut hash,
            &mut grammar,
            &mut serialise,
            &mut run_cli,
        ],
    );
    let [
        extract,
        parse,
        decode,
        parts,
        hash,
        grammar,
        serialise,
        cli_time,
    ] = [
        results[0], results[1], results[2], results[3], results[4], results[5], results[6],
        results[7],
    ];

    let mb = total_bytes as f64 / 1_000_000.0;
    let n = pages.len() as f64;
    let ms = |t: f64| t * 1e3 / n;
    println!(
        "\n{name}: {} pages, {:.2} MB, {:.1} KB per page on average",
        pages.len(),
        mb,
        total_bytes as f64 / n / 1000.0
    );
    println!("(fastest pass; median in brackets)");
    let mut rows = vec![
        ("extract (in-service)", extract),
        ("html5ever parse", parse),
    ];
    if cli {
        rows.push(("parser parse (CLI)", cli_time));
    }
    for (label, (best, median)) in rows {
        println!(
            "{label:<22}: {:>7.0} pages/s {:>6.2} MB/s  {:.3} ms/page  [{:.0} pages/s, {:.2} MB/s]",
            n / best,
            mb / best,
            ms(best),
            n / median,
            mb / median
        );
    }
    println!(
        "breakdown per page: decode {:.3} ms, DOM build (html5ever) {:.3} ms, DOM extraction {:.3} ms, turns + speakers + title grammar + kind {:.3} ms, content hash {:.3} ms, JSON serialisation {:.3} ms",
        ms(decode.0),
        ms(parse.0),
        ms(parts.0 - parse.0),
        ms(grammar.0),
        ms(hash.0),
        ms(serialise.0)
    );
    println!(
        "ratio in-service extract / bare parse: {:.2}x fastest, {:.2}x median (target <= {target:.2}x)",
        extract.0 / parse.0,
        extract.1 / parse.1
    );
    if let Some(run) = &cli_run {
        assert_eq!(run.records(), pages.len(), "parser parse missed pages");
        println!(
            "ratio CLI (process start, read, extract, JSON to a file) / bare parse: {:.2}x fastest, {:.2}x median (target <= 1.50x)",
            cli_time.0 / parse.0,
            cli_time.1 / parse.1
        );
    }
}

fn main() {
    let built = Instant::now();
    let extractor = Extractor::builtin().expect("built-in source profiles");
    let registry_time = built.elapsed();
    let budget = Duration::from_secs(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3),
    );
    println!(
        "extractor (profiles, officials registries, cue automata) built once in {:.1} ms",
        registry_time.as_secs_f64() * 1e3
    );
    let fixtures = pages::fixtures();
    let real: Vec<Page> = (0..VARIANTS)
        .flat_map(|v| fixtures.iter().map(move |p| pages::real_size(p, v)))
        .collect();
    // The chrome must not change a record: the same statement in a bigger page.
    let small = extract_all(&extractor, &fixtures);
    let big = extract_all(&extractor, &real);
    for (i, record) in big.iter().enumerate() {
        let original = &small[i % fixtures.len()];
        assert_eq!(
            record.content_hash, original.content_hash,
            "the real-size page of {} extracts differently from the fixture page",
            original.id
        );
    }
    bench(
        &extractor,
        "fixture pages (tests/fixtures/site/statements)",
        &fixtures,
        budget,
        false,
        FIXTURE_TARGET,
    );
    bench(
        &extractor,
        "the 42 pages of the first figure (mid.ru 1950001-1960009; 1.46x on 2026-11-28)",
        &pages::first_figure(),
        budget,
        false,
        FIXTURE_TARGET,
    );
    bench(
        &extractor,
        "real-size pages (the fixture statements in the site's full chrome)",
        &real,
        budget,
        true,
        REAL_SIZE_TARGET,
    );
}

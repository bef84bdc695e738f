//! A fault soak: the whole deployment runs for many minutes while the sites of every source
//! (mid.ru, kremlin.ru on two hosts, fmprc.gov.cn) publish and edit statements and a nemesis injects overlapping faults from a seeded schedule; then the faults
//! heal, the pipeline drains, and an independent checker proves that nothing was lost or
//! doubled. `scripts/soak` runs it (the `soak` binary).

pub mod checker;
pub mod deployment;
pub mod generator;
pub mod markup;
pub mod nemesis;
pub mod observe;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::site::SourceSite;
use checker::{Verdict, check};
use deployment::Deployment;
use generator::{Generator, Publication};
use markup::{Markup, SOURCES};
use nemesis::Events;
use observe::Sabotage;

/// How long the services get to become ready, and the baseline corpus to be stored.
const WARM_UP: Duration = Duration::from_secs(180);
/// How long the services get to answer /readyz again after the drain.
const READY_AGAIN: Duration = Duration::from_secs(90);

/// What a soak does.
#[derive(Debug, Clone)]
pub struct Options {
    /// Length of the fault window, in minutes.
    pub minutes: f64,
    /// Seed of the fault schedule and the publications.
    pub seed: u64,
    /// Broken idempotency to apply, to prove the checker catches it.
    pub sabotage: Option<Sabotage>,
    /// Where the event log, publication log and summary go.
    pub out: PathBuf,
    /// Largest resident memory allowed per service, MiB.
    pub max_rss_mib: u64,
    /// Most open file descriptors allowed per service.
    pub max_fds: usize,
    /// How long the pipeline may take to drain after the faults heal.
    pub drain_timeout: Duration,
}

/// Runs a soak and prints its summary; true when the checker found nothing wrong.
pub async fn run(options: &Options) -> anyhow::Result<bool> {
    let started = Instant::now();
    let events = Events::new(started);
    events.log(format!(
        "seed {}, {} min of faults; output in {}",
        options.seed,
        options.minutes,
        options.out.display()
    ));
    std::fs::create_dir_all(&options.out)?;
    let mut sites = Vec::new();
    for source in SOURCES {
        sites.push(Arc::new(SourceSite::start(source).await));
    }
    let deployment = Arc::new(Deployment::start(sites.clone(), &options.out).await);
    let mut failures = Vec::new();
    let not_ready = deployment.wait_ready(WARM_UP).await;
    if !not_ready.is_empty() {
        failures.push(format!("services not ready at the start: {not_ready:?}"));
    }
    let mut generators: Vec<Generator> = sites
        .iter()
        .filter_map(|site| {
            let markup = Markup::of(&site.name)?;
            Some(Generator::new(site.clone(), markup, options.seed, started))
        })
        .collect();
    let baseline: BTreeSet<String> = log_of(&generators).into_iter().map(|p| p.id).collect();
    let warm = Instant::now() + WARM_UP;
    while failures.is_empty() {
        let stored = observe::stored_revisions(&deployment);
        if baseline.iter().all(|id| stored.contains_key(id)) {
            events.log(format!(
                "warm: the {} baseline pages are stored",
                baseline.len()
            ));
            break;
        }
        if Instant::now() > warm {
            failures.push(format!(
                "the baseline corpus was not stored within {WARM_UP:?} ({} of {})",
                baseline
                    .iter()
                    .filter(|id| stored.contains_key(*id))
                    .count(),
                baseline.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let js = observe::jetstream(&deployment.operator_url)
        .await
        .map_err(anyhow::Error::msg)?;

    let stop = CancellationToken::new();
    let exits = Arc::new(Mutex::new(Vec::new()));
    let watchdog = tokio::spawn(watch(
        deployment.clone(),
        events.clone(),
        exits.clone(),
        stop.clone(),
    ));

    let mut sabotaged = None;
    if failures.is_empty() {
        let window = options.minutes * 60.0;
        let plan = nemesis::schedule(
            options.seed,
            window,
            deployment.slots.len(),
            deployment.nats.len(),
            deployment.hosts().len(),
        );
        events.log(format!("{} faults scheduled over {window:.0}s", plan.len()));
        let begin = tokio::time::Instant::now();
        let tasks: Vec<_> = plan
            .into_iter()
            .map(|fault| {
                let (d, e) = (deployment.clone(), events.clone());
                tokio::spawn(async move {
                    tokio::time::sleep_until(begin + Duration::from_secs_f64(fault.at)).await;
                    nemesis::apply(d, fault, e).await;
                })
            })
            .collect();
        let end = begin + Duration::from_secs_f64(window);
        let mut next = begin;
        while tokio::time::Instant::now() < end {
            let stored = observe::stored_revisions(&deployment);
            for generator in &mut generators {
                generator.tick(&stored);
            }
            if let Some(kind) = options.sabotage
                && sabotaged.is_none()
                && begin.elapsed().as_secs_f64() > window / 2.0
            {
                sabotaged = try_sabotage(&deployment, kind, &mut generators, &events);
            }
            next += Duration::from_secs(1);
            tokio::time::sleep_until(next).await;
        }
        for task in tasks {
            let _ = task.await;
        }
        nemesis::heal(&deployment, &events).await;
        events.log("faults healed, publishing stopped: draining");
        drain(
            &deployment,
            &js,
            &generators,
            options.drain_timeout,
            &events,
        )
        .await;
    }
    if let Some(kind) = options.sabotage
        && sabotaged.is_none()
    {
        sabotaged = try_sabotage(&deployment, kind, &mut generators, &events);
        if sabotaged.is_none() {
            failures.push("the sabotage could not be applied".into());
        }
    }

    let not_ready = deployment.wait_ready(READY_AGAIN).await;
    if !not_ready.is_empty() {
        failures.push(format!("not ready again after the drain: {not_ready:?}"));
    }
    stop.cancel();
    let _ = watchdog.await;
    failures.extend(
        exits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned(),
    );
    let resources = resources(&deployment, options, &mut failures).await;
    let observed = observe::observe(&deployment, &js)
        .await
        .map_err(anyhow::Error::msg)?;
    let log = log_of(&generators);
    let mut verdict = check(&log, &observed);
    explain_lost(&mut verdict, &deployment);
    let passed = verdict.passed() && failures.is_empty();
    let summary = summary(
        options, &events, &log, &verdict, &failures, &resources, started, passed,
    );
    println!("{summary}");
    write_outputs(options, &events, &log, &summary, &deployment).await?;
    if !passed {
        println!("event log (also in {}/events.log):", options.out.display());
        for line in events.lines() {
            println!("  {line}");
        }
        println!(
            "reproduce with: scripts/soak --minutes {} --seed {}",
            options.minutes, options.seed
        );
    }
    Ok(passed)
}

/// Per source: baseline pages, pages published, edits, pages designed to fail.
fn by_source(log: &[Publication]) -> std::collections::BTreeMap<&str, [usize; 4]> {
    let mut counts = std::collections::BTreeMap::new();
    for p in log {
        let source = p.id.split(':').next().unwrap_or_default();
        let slot = match p.action {
            generator::Action::Baseline => 0,
            generator::Action::Publish => 1,
            generator::Action::Edit => 2,
            generator::Action::Broken => 3,
        };
        counts.entry(source).or_insert([0; 4])[slot] += 1;
    }
    counts
}

/// The publication log of every source, in order of time.
fn log_of(generators: &[Generator]) -> Vec<Publication> {
    let mut log: Vec<Publication> = generators
        .iter()
        .flat_map(|g| g.log().iter().cloned())
        .collect();
    log.sort_by(|a, b| a.at.total_cmp(&b.at));
    log
}

/// Adds to each lost revision what the site saw of its page: never requested (the fetchers
/// did not find it) or served (then lost on the way).
fn explain_lost(verdict: &mut Verdict, deployment: &Deployment) {
    let requests: Vec<_> = deployment
        .sites
        .iter()
        .map(|s| (s.name.as_str(), s.host_requests()))
        .collect();
    for lost in &mut verdict.lost {
        let id = lost.split(": ").next().unwrap_or_default().to_string();
        let mut parts = id.rsplitn(3, ':');
        let (Some(lang), Some(doc_id), Some(source)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (mut served, mut not_modified) = (0, 0);
        for (_, log) in requests.iter().filter(|(s, _)| *s == source) {
            // The requests of the host serving `lang`, for a path ending in the doc id
            // (`/{lang}/…/{doc_id}/`, `/events/…/{doc_id}`, `…/t{date}_{doc_id}.html`).
            for r in log
                .iter()
                .filter(|(langs, _)| langs.is_empty() || langs.iter().any(|l| l == lang))
                .flat_map(|(_, requests)| requests)
                .filter(|r| {
                    let path = r.path.trim_end_matches('/').trim_end_matches(".html");
                    (!path.starts_with("/en/") && !path.starts_with("/ru/")
                        || path.starts_with(&format!("/{lang}/")))
                        && (path.ends_with(&format!("/{doc_id}"))
                            || path.ends_with(&format!("_{doc_id}")))
                })
            {
                match r.status {
                    200 => served += 1,
                    304 => not_modified += 1,
                    _ => {}
                }
            }
        }
        if served + not_modified == 0 {
            lost.push_str(" (its page was never requested: no fetcher found it)");
        } else {
            lost.push_str(&format!(
                " (its page was served {served} times, 304 {not_modified} times)"
            ));
        }
    }
}

fn try_sabotage(
    deployment: &Deployment,
    kind: Sabotage,
    generators: &mut [Generator],
    events: &Events,
) -> Option<String> {
    match observe::sabotage(deployment, kind) {
        Ok(Some(id)) => {
            events.log(format!(
                "SABOTAGE {kind:?} on {id} (from outside, in the database)"
            ));
            for generator in generators.iter_mut() {
                generator.freeze(&id);
            }
            Some(id)
        }
        Ok(None) => None,
        Err(e) => {
            events.log(format!("sabotage failed, trying again: {e}"));
            None
        }
    }
}

/// Waits until the parser's and sink's backlogs are empty and every required revision is
/// stored, or `timeout`.
async fn drain(
    deployment: &Deployment,
    js: &async_nats::jetstream::Context,
    generators: &[Generator],
    timeout: Duration,
    events: &Events,
) {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let backlog = observe::backlog(js).await;
        let lost = observe::observe(deployment, js)
            .await
            .map(|o| check(&log_of(generators), &o).lost.len());
        let state = format!("backlog {backlog:?}, revisions not stored yet {lost:?}");
        if backlog == Some(0) && lost == Ok(0) {
            events.log(format!("drained: {state}"));
            return;
        }
        if Instant::now() >= deadline {
            events.log(format!("drain timed out after {timeout:?}: {state}"));
            return;
        }
        if state != last {
            events.log(format!("draining: {state}"));
            last = state;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Restarts any service that exits although nobody stopped it (and notes it as a failure),
/// and samples memory and descriptors every 5 s.
async fn watch(
    deployment: Arc<Deployment>,
    events: Events,
    exits: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
) {
    let mut tick = 0u64;
    while !stop.is_cancelled() {
        for slot in &deployment.slots {
            let mut s = slot.lock().await;
            if let Some(status) = s.exited_by_itself() {
                let log = s.log_tail(30);
                events.log(format!(
                    "{} exited by itself ({status}); restarting it",
                    s.name
                ));
                exits
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(format!(
                        "{} exited by itself ({status}); its log ends:\n{log}",
                        s.name
                    ));
                s.start();
            }
            if tick.is_multiple_of(5) && !s.paused {
                s.sample();
            }
        }
        tick += 1;
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Memory and descriptors of every service now, checked against the bounds; one line each.
async fn resources(
    deployment: &Deployment,
    options: &Options,
    failures: &mut Vec<String>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for slot in &deployment.slots {
        let mut s = slot.lock().await;
        let now = s.sample();
        let (rss, fds) = now.unwrap_or_default();
        lines.push(format!(
            "{:<22} RSS {:>6.1} MiB (peak {:>6.1}), fds {:>4} (peak {:>4}), processes started {}",
            s.name,
            rss as f64 / 1024.0,
            s.peak_rss_kib as f64 / 1024.0,
            fds,
            s.peak_fds,
            s.starts
        ));
        if now.is_none() {
            failures.push(format!("{}: no process to measure", s.name));
        }
        if s.peak_rss_kib > options.max_rss_mib * 1024 {
            failures.push(format!(
                "{}: resident memory reached {} KiB, over --max-rss-mib {}",
                s.name, s.peak_rss_kib, options.max_rss_mib
            ));
        }
        if s.peak_fds > options.max_fds {
            failures.push(format!(
                "{}: {} open file descriptors, over --max-fds {}",
                s.name, s.peak_fds, options.max_fds
            ));
        }
    }
    lines
}

#[allow(clippy::too_many_arguments)]
fn summary(
    options: &Options,
    events: &Events,
    log: &[Publication],
    verdict: &Verdict,
    failures: &[String],
    resources: &[String],
    started: Instant,
    passed: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "soak summary: seed {}, {} min of faults, {:.0} s in all",
        options.seed,
        options.minutes,
        started.elapsed().as_secs_f64()
    );
    let counts = events.counts();
    let _ = writeln!(out, "faults injected: {}", counts.values().sum::<usize>());
    for (kind, n) in &counts {
        let _ = writeln!(out, "  {kind:<28} {n}");
    }
    let _ = writeln!(
        out,
        "published: {} statements, {} pages, {} edits; revisions checked {} (+{} replaced before they were stored)",
        verdict.statements,
        verdict.pages,
        verdict.edits,
        verdict.revisions_checked,
        verdict.revisions_optional
    );
    for (source, [pages, published, edits, broken]) in by_source(log) {
        let _ = writeln!(
            out,
            "  {source:<14} {pages} baseline pages, {published} pages published, {edits} edits, {broken} pages designed to fail"
        );
    }
    let _ = writeln!(
        out,
        "dead letters: {} ({} pages designed to fail were published)",
        verdict.dead_letters, verdict.designed_to_fail
    );
    let _ = writeln!(
        out,
        "lost {}, doubled {}, other problems {}",
        verdict.lost.len(),
        verdict.doubled.len(),
        verdict.problems.len()
    );
    for (what, list) in [
        ("lost", &verdict.lost),
        ("doubled", &verdict.doubled),
        ("problem", &verdict.problems),
        ("failure", &failures.to_vec()),
    ] {
        for item in list.iter().take(40) {
            let _ = writeln!(out, "  {what}: {item}");
        }
    }
    let _ = writeln!(out, "services after the drain:");
    for line in resources {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "{}", if passed { "PASSED" } else { "FAILED" });
    out
}

async fn write_outputs(
    options: &Options,
    events: &Events,
    log: &[Publication],
    summary: &str,
    deployment: &Deployment,
) -> anyhow::Result<()> {
    std::fs::write(options.out.join("summary.txt"), summary)?;
    std::fs::write(
        options.out.join("events.log"),
        events.lines().join("\n") + "\n",
    )?;
    let mut lines = String::new();
    for p in log {
        lines.push_str(&serde_json::to_string(p)?);
        lines.push('\n');
    }
    std::fs::write(options.out.join("publications.jsonl"), lines)?;
    for slot in &deployment.slots {
        slot.lock().await.keep_current_log();
    }
    Ok(())
}

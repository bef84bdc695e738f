//! `fetcher`: finds new statements on mid.ru and publishes the raw pages to NATS JetStream.

use anyhow::Context as _;
use clap::Parser;
use fetcher::{Cli, Command};

fn main() -> anyhow::Result<()> {
    shared::runtime::build()
        .context("cannot start the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    shared::telemetry::init(cli.common.log_format);
    if let Some(Command::Healthcheck) = cli.command {
        let addr = cli
            .common
            .metrics_listen
            .context("healthcheck needs --metrics-listen (or METRICS_LISTEN): the address the fetcher serves /healthz on")?;
        return shared::ops::healthcheck(addr).await;
    }
    let shutdown = shared::shutdown::on_signals();
    fetcher::run(cli, shutdown).await?;
    Ok(())
}

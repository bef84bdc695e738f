//! `sink`: stores speech records and serves them over HTTP. See `sink --help`.

use anyhow::Context as _;
use clap::Parser;
use sink::app::{Cli, Command};

fn main() -> anyhow::Result<()> {
    shared::runtime::build()
        .context("cannot start the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    shared::telemetry::init(cli.common.log_format);
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            sink::app::run(&cli.common, &cli.sink, shared::shutdown::on_signals()).await
        }
        Command::Healthcheck => shared::ops::healthcheck(cli.sink.listen).await,
        Command::Export(args) => {
            let database_url = cli
                .sink
                .resolved_database_url()
                .map_err(anyhow::Error::msg)?;
            Ok(sink::export::cli::run(&database_url, &args).await?)
        }
    }
}

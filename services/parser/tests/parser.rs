//! Integration tests of the parser: a golden record for every fixture page, the fields the
//! fixture authors expect, EN/RU agreement, property tests, the CLI, and the service against a
//! private nats-server.

#[path = "parser/cli.rs"]
mod cli;
#[path = "parser/corpus.rs"]
mod corpus;
#[path = "parser/expected.rs"]
mod expected;
#[path = "parser/expected_md.rs"]
mod expected_md;
#[path = "parser/followups.rs"]
mod followups;
#[path = "parser/fourth_site.rs"]
mod fourth_site;
#[path = "parser/golden.rs"]
mod golden;
#[path = "parser/props.rs"]
mod props;
#[path = "parser/service.rs"]
mod service;
#[path = "parser/shapes.rs"]
mod shapes;
#[path = "parser/sources.rs"]
mod sources;

//! NATS identities and what each may do: the one description every nats-server configuration
//! the project ships is generated from (the tests' servers, `scripts/run`, compose and
//! Kubernetes), so the permissions cannot drift apart.
//!
//! | identity | publishes | consumes |
//! | --- | --- | --- |
//! | `fetcher` | `raw.>`, its key-value bucket and object store | its bucket and object store |
//! | `parser` | `speeches.>`, `dead.parser.>` | `RAW_PAGES` (durable `parser`), the object store |
//! | `sink` | `dead.sink.>` | `SPEECHES` (durable `sink`) |
//! | `subscriber` | nothing | `speeches.>` (ephemeral consumers of `SPEECHES`) |
//! | `operator` | everything (dead-letter replay, inspection) | everything |
//!
//! Each service may also create the three pipeline streams when they are missing (so that
//! any of them can start first) and read their state; no service may update, purge or delete
//! a stream it does not own. A client receives replies on `_INBOX.{identity}.>` only (see
//! [`inbox_prefix`]), so no identity can read another's deliveries. There is no anonymous
//! access: a server with this configuration refuses clients without an identity.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::subjects::{
    FETCHER_BUCKET, LARGE_PAGE_BUCKET, PARSER_CONSUMER, RAW_STREAM, SINK_CONSUMER, SPEECH_STREAM,
    STREAMS,
};

/// Who connects to NATS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// The fetcher service.
    Fetcher,
    /// The parser service (also `parser reparse`).
    Parser,
    /// The sink service.
    Sink,
    /// A read-only consumer of speech records (`cargo run -p shared --example subscribe`).
    Subscriber,
    /// A person operating the system: `parser dead-letters`, stream inspection.
    Operator,
}

impl Identity {
    /// Every identity, in configuration order.
    pub const ALL: [Identity; 5] = [
        Identity::Fetcher,
        Identity::Parser,
        Identity::Sink,
        Identity::Subscriber,
        Identity::Operator,
    ];

    /// The user name (also the client name and the inbox token).
    pub fn name(self) -> &'static str {
        match self {
            Identity::Fetcher => "fetcher",
            Identity::Parser => "parser",
            Identity::Sink => "sink",
            Identity::Subscriber => "subscriber",
            Identity::Operator => "operator",
        }
    }

    /// The environment variable the shipped server configurations read this identity's
    /// password from (`NATS_FETCHER_PASSWORD`, ...).
    pub fn password_variable(self) -> String {
        format!("NATS_{}_PASSWORD", self.name().to_ascii_uppercase())
    }

    /// What this identity may publish and subscribe to.
    pub fn permissions(self) -> Permissions {
        let inbox = format!("{}.>", inbox_prefix(self.name()));
        let mut p = Permissions::default();
        match self {
            Identity::Operator => {
                p.publish.push(">".into());
                p.subscribe.push(">".into());
                return p;
            }
            Identity::Subscriber => {
                p.publish.push("$JS.API.INFO".into());
                p.publish
                    .push(format!("$JS.API.STREAM.INFO.{SPEECH_STREAM}"));
                for verb in ["CREATE", "INFO", "DELETE"] {
                    p.publish
                        .push(format!("$JS.API.CONSUMER.{verb}.{SPEECH_STREAM}"));
                    p.publish
                        .push(format!("$JS.API.CONSUMER.{verb}.{SPEECH_STREAM}.>"));
                }
                p.publish
                    .push(format!("$JS.API.CONSUMER.MSG.NEXT.{SPEECH_STREAM}.>"));
                p.publish.push(format!("$JS.FC.{SPEECH_STREAM}.>"));
                // Never the sink's durable consumer: no subscriber can delete, reconfigure or
                // drain it.
                p.publish_deny.push(format!(
                    "$JS.API.CONSUMER.*.{SPEECH_STREAM}.{SINK_CONSUMER}"
                ));
                p.publish_deny.push(format!(
                    "$JS.API.CONSUMER.*.{SPEECH_STREAM}.{SINK_CONSUMER}.>"
                ));
                p.publish_deny.push(format!(
                    "$JS.API.CONSUMER.MSG.NEXT.{SPEECH_STREAM}.{SINK_CONSUMER}"
                ));
                p.subscribe.push("speeches.>".into());
                p.subscribe.push(inbox);
                return p;
            }
            Identity::Fetcher | Identity::Parser | Identity::Sink => {}
        }
        // Every service: account info, and the pipeline streams created when missing.
        p.publish.push("$JS.API.INFO".into());
        for stream in STREAMS {
            p.publish
                .push(format!("$JS.API.STREAM.INFO.{}", stream.name));
            p.publish
                .push(format!("$JS.API.STREAM.CREATE.{}", stream.name));
        }
        p.subscribe.push(inbox);
        match self {
            Identity::Fetcher => {
                p.publish.push("raw.>".into());
                p.publish.push(format!("$KV.{FETCHER_BUCKET}.>"));
                p.publish.push(format!("$O.{LARGE_PAGE_BUCKET}.>"));
                for stream in [
                    format!("KV_{FETCHER_BUCKET}"),
                    format!("OBJ_{LARGE_PAGE_BUCKET}"),
                ] {
                    p.own_stream(&stream);
                }
            }
            Identity::Parser => {
                p.publish.push("speeches.>".into());
                p.publish.push("dead.parser.>".into());
                p.durable_consumer(RAW_STREAM, PARSER_CONSUMER);
                // `parser reparse` reads RAW_PAGES through an ordered consumer.
                p.read_stream(RAW_STREAM);
                p.read_stream(&format!("OBJ_{LARGE_PAGE_BUCKET}"));
            }
            Identity::Sink => {
                p.publish.push("dead.sink.>".into());
                p.durable_consumer(SPEECH_STREAM, SINK_CONSUMER);
            }
            Identity::Subscriber | Identity::Operator => {}
        }
        p
    }
}

/// Subject prefix of the inboxes of the client named `client_name` (`_INBOX.fetcher`): the
/// server lets each identity subscribe to its own inboxes only.
pub fn inbox_prefix(client_name: &str) -> String {
    format!("_INBOX.{client_name}")
}

/// Subjects an identity may publish to and subscribe to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Subjects it may publish to (JetStream API calls are publishes too).
    pub publish: Vec<String>,
    /// Subjects it may never publish to, even when `publish` allows them.
    pub publish_deny: Vec<String>,
    /// Subjects it may subscribe to.
    pub subscribe: Vec<String>,
}

impl Permissions {
    /// Full use of a stream the identity owns (its bucket or object store).
    fn own_stream(&mut self, stream: &str) {
        self.publish.push(format!("$JS.API.*.*.{stream}"));
        self.publish.push(format!("$JS.API.*.*.{stream}.>"));
        self.publish
            .push(format!("$JS.API.STREAM.MSG.GET.{stream}"));
        self.publish
            .push(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.>"));
        self.publish
            .push(format!("$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>"));
        self.publish.push(format!("$JS.FC.{stream}.>"));
        self.publish.push(format!("$JS.ACK.{stream}.>"));
    }

    /// Reading a stream through direct gets and ephemeral consumers (the object store).
    fn read_stream(&mut self, stream: &str) {
        self.publish.push(format!("$JS.API.STREAM.INFO.{stream}"));
        self.publish
            .push(format!("$JS.API.STREAM.MSG.GET.{stream}"));
        self.publish.push(format!("$JS.API.DIRECT.GET.{stream}"));
        self.publish.push(format!("$JS.API.DIRECT.GET.{stream}.>"));
        for verb in ["CREATE", "INFO", "DELETE"] {
            self.publish
                .push(format!("$JS.API.CONSUMER.{verb}.{stream}"));
            self.publish
                .push(format!("$JS.API.CONSUMER.{verb}.{stream}.>"));
        }
        self.publish
            .push(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.>"));
        self.publish.push(format!("$JS.FC.{stream}.>"));
    }

    /// Pulling from the durable consumer `durable` of `stream` and acknowledging.
    fn durable_consumer(&mut self, stream: &str, durable: &str) {
        for verb in ["CREATE", "INFO"] {
            self.publish
                .push(format!("$JS.API.CONSUMER.{verb}.{stream}.{durable}"));
            self.publish
                .push(format!("$JS.API.CONSUMER.{verb}.{stream}.{durable}.>"));
        }
        self.publish.push(format!(
            "$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}"
        ));
        self.publish
            .push(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"));
        self.publish.push(format!("$JS.ACK.{stream}.{durable}.>"));
    }
}

/// How a user's password appears in a generated server configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// The password itself (a configuration kept private: tests, `scripts/run`).
    Literal(String),
    /// A reference to an environment variable of the server (`$NATS_FETCHER_PASSWORD`), for
    /// configurations committed to the repository (compose, Kubernetes).
    Variable(String),
}

/// A quoted string in nats-server configuration syntax.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| quoted(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `authorization { users = [...] }` block of a nats-server configuration: each
/// identity of `users` with its password and [`Identity::permissions`]. Identities not
/// listed cannot connect; no one connects without an identity.
pub fn authorization_block(users: &[(Identity, Password)]) -> String {
    let mut out = String::from(
        "# Generated from shared/src/nats_auth.rs: every identity and what it may do.\n\
         authorization {\n  users = [\n",
    );
    for (identity, password) in users {
        let password = match password {
            Password::Literal(p) => quoted(p),
            Password::Variable(v) => format!("${v}"),
        };
        let p = identity.permissions();
        let _ = writeln!(out, "    {{");
        let _ = writeln!(out, "      user: {}", quoted(identity.name()));
        let _ = writeln!(out, "      password: {password}");
        let _ = writeln!(out, "      permissions: {{");
        let _ = write!(out, "        publish: {{ allow: [{}]", list(&p.publish));
        if !p.publish_deny.is_empty() {
            let _ = write!(out, ", deny: [{}]", list(&p.publish_deny));
        }
        let _ = writeln!(out, " }}");
        let _ = writeln!(
            out,
            "        subscribe: {{ allow: [{}] }}",
            list(&p.subscribe)
        );
        let _ = writeln!(out, "      }}");
        let _ = writeln!(out, "    }}");
    }
    out.push_str("  ]\n}\n");
    out
}

/// The password file of `identity` in a directory written by [`write_local`].
pub fn password_file(dir: &Path, identity: Identity) -> PathBuf {
    dir.join(format!("{}.password", identity.name()))
}

/// Writes a private configuration for a local nats-server into `dir` (created if needed):
/// `<identity>.password` for every identity (mode 0600; existing ones are kept, so restarts
/// keep their passwords) and `auth.conf`, the [`authorization_block`] with those passwords.
/// Returns the path of `auth.conf`. Used by the tests' servers and `scripts/run`.
pub fn write_local(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut users = Vec::new();
    for identity in Identity::ALL {
        let path = password_file(dir, identity);
        let password = match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => text.trim().to_string(),
            _ => {
                let password = random_password()?;
                write_private(&path, &format!("{password}\n"))?;
                password
            }
        };
        users.push((identity, Password::Literal(password)));
    }
    let conf = dir.join("auth.conf");
    write_private(&conf, &authorization_block(&users))?;
    Ok(conf)
}

/// Writes `text` to `path`, readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// The configuration the shipped deployments use (`deploy/nats/auth.conf`): every identity,
/// each password read from the server's environment ([`Identity::password_variable`]).
pub fn deploy_block() -> String {
    let users: Vec<(Identity, Password)> = Identity::ALL
        .iter()
        .map(|identity| (*identity, Password::Variable(identity.password_variable())))
        .collect();
    authorization_block(&users)
}

/// A fresh random password: 32 hex digits from the operating system's random source.
pub fn random_password() -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(patterns: &[String], subject: &str) -> bool {
        patterns.iter().any(|p| matches(p, subject))
    }

    /// NATS subject matching: `*` one token, `>` the rest.
    fn matches(pattern: &str, subject: &str) -> bool {
        let mut p = pattern.split('.');
        let mut s = subject.split('.');
        loop {
            match (p.next(), s.next()) {
                (Some(">"), Some(_)) => return true,
                (Some("*"), Some(_)) => {}
                (Some(a), Some(b)) if a == b => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }

    fn may_publish(identity: Identity, subject: &str) -> bool {
        let p = identity.permissions();
        allows(&p.publish, subject) && !allows(&p.publish_deny, subject)
    }

    #[test]
    fn each_service_publishes_only_its_own_subjects() {
        assert!(may_publish(Identity::Fetcher, "raw.mid_ru.en"));
        assert!(!may_publish(
            Identity::Fetcher,
            "speeches.mid_ru.en.interview"
        ));
        assert!(!may_publish(Identity::Fetcher, "dead.parser.mid_ru"));
        assert!(may_publish(
            Identity::Parser,
            "speeches.mid_ru.en.interview"
        ));
        assert!(may_publish(Identity::Parser, "dead.parser.mid_ru"));
        assert!(!may_publish(Identity::Parser, "dead.sink.mid_ru"));
        assert!(!may_publish(Identity::Parser, "raw.mid_ru.en"));
        assert!(may_publish(Identity::Sink, "dead.sink.mid_ru"));
        assert!(!may_publish(Identity::Sink, "speeches.mid_ru.en.interview"));
        for subject in [
            "raw.x.en",
            "speeches.x.en.other",
            "dead.sink.x",
            "$KV.fetcher_state.k",
        ] {
            assert!(!may_publish(Identity::Subscriber, subject), "{subject}");
        }
    }

    #[test]
    fn no_one_but_the_sink_drives_the_sink_consumer() {
        for identity in [Identity::Fetcher, Identity::Parser, Identity::Subscriber] {
            for subject in [
                "$JS.API.CONSUMER.DELETE.SPEECHES.sink",
                "$JS.API.CONSUMER.MSG.NEXT.SPEECHES.sink",
                "$JS.ACK.SPEECHES.sink.1.2.3.4.5.6",
                "$JS.API.STREAM.DELETE.SPEECHES",
                "$JS.API.STREAM.PURGE.SPEECHES",
            ] {
                assert!(!may_publish(identity, subject), "{identity:?} {subject}");
            }
        }
        assert!(may_publish(
            Identity::Sink,
            "$JS.API.CONSUMER.MSG.NEXT.SPEECHES.sink"
        ));
        assert!(may_publish(
            Identity::Sink,
            "$JS.ACK.SPEECHES.sink.1.2.3.4.5.6"
        ));
        assert!(!may_publish(
            Identity::Sink,
            "$JS.API.CONSUMER.DELETE.SPEECHES.sink"
        ));
        assert!(may_publish(
            Identity::Subscriber,
            "$JS.API.CONSUMER.CREATE.SPEECHES.abc.speeches.>"
        ));
    }

    #[test]
    fn inboxes_are_private() {
        for identity in Identity::ALL {
            let p = identity.permissions();
            for other in Identity::ALL {
                let inbox = format!("{}.abc.1", inbox_prefix(other.name()));
                let expected = identity == other || identity == Identity::Operator;
                assert_eq!(
                    allows(&p.subscribe, &inbox),
                    expected,
                    "{identity:?} {inbox}"
                );
            }
            assert!(!allows(&p.subscribe, "_INBOX.abc.1") || identity == Identity::Operator);
        }
    }

    #[test]
    fn the_block_lists_users_with_permissions_and_quotes_values() {
        let block = authorization_block(&[
            (Identity::Fetcher, Password::Literal("p\"w".into())),
            (
                Identity::Sink,
                Password::Variable("NATS_SINK_PASSWORD".into()),
            ),
        ]);
        assert!(block.contains("user: \"fetcher\""), "{block}");
        assert!(block.contains("password: \"p\\\"w\""), "{block}");
        assert!(block.contains("password: $NATS_SINK_PASSWORD"), "{block}");
        assert!(block.contains("\"raw.>\""), "{block}");
        assert!(!block.contains("user: \"parser\""), "{block}");
        assert_eq!(random_password().map(|p| p.len()).ok(), Some(32));
    }

    #[test]
    fn the_shipped_configuration_is_the_generated_one() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nats/auth.conf");
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            shipped,
            deploy_block(),
            "{} differs from the generator: run `cargo run -p shared --bin nats-auth -- deploy > deploy/nats/auth.conf`",
            path.display()
        );
    }

    #[test]
    fn local_configurations_keep_their_passwords() {
        let dir = std::env::temp_dir().join(format!("nats-auth-test-{}", std::process::id()));
        let conf = write_local(&dir).expect("write");
        let first = std::fs::read_to_string(&conf).expect("read");
        let password = std::fs::read_to_string(password_file(&dir, Identity::Sink)).expect("pw");
        assert!(
            first.contains(&format!("\"{}\"", password.trim())),
            "{first}"
        );
        write_local(&dir).expect("again");
        assert_eq!(std::fs::read_to_string(&conf).expect("read"), first);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

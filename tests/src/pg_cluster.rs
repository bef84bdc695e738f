//! A private PostgreSQL cluster per test, started with `initdb` and `pg_ctl` from the Debian
//! packages (`/usr/lib/postgresql/*/bin`, or `PG_BIN_DIR`): TLS on with a certificate from a
//! [`TestCa`], clients only over TLS (`hostssl` in `pg_hba.conf`, plaintext connections are
//! refused by the server), password authentication (SCRAM). Stopped and removed on drop.
//!
//! As root the cluster runs as the `postgres` user (`initdb` refuses root); otherwise as the
//! current user.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TempDir, TestCa, free_port};

/// The superuser of the private cluster.
pub const PG_USER: &str = "postgres";

/// A running private PostgreSQL cluster with TLS on.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    /// The directory owned by the cluster's user: `data/`, the certificate, the key, the log.
    home: PathBuf,
    port: u16,
    password: String,
    run_as: Option<String>,
    _dir: TempDir,
}

impl PgCluster {
    /// Makes a cluster whose server certificate (for `127.0.0.1` and `localhost`) is signed by
    /// `ca`, and starts it on a free port. Panics with instructions when PostgreSQL's programs
    /// are missing or the cluster does not start: a missing service fails the test.
    pub fn start_tls(ca: &TestCa) -> PgCluster {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new("pg-tls");
        // The cluster's user must reach its directory inside.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", dir.path().display()));
        let home = dir.path().join("cluster");
        std::fs::create_dir_all(&home)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", home.display()));
        let root = std::fs::metadata(dir.path())
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let run_as = root.then(|| PG_USER.to_string());
        let password = format!(
            "pg-secret-{}",
            shared::nats_auth::random_password()
                .unwrap_or_else(|e| panic!("cannot make a password: {e}"))
        );
        let cluster = PgCluster {
            bin: pg_bin_dir(),
            home,
            port: free_port(),
            password,
            run_as,
            _dir: dir,
        };
        cluster.init(ca);
        cluster.pg_ctl_start();
        cluster
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The port the server listens on, on 127.0.0.1 (named in the certificate) and on
    /// 127.0.0.2 (not named: for host name checks).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres` followed by `query` (e.g.
    /// `?sslmode=verify-full&sslrootcert=/ca.pem`).
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://{PG_USER}:{}@127.0.0.1:{}/postgres{query}",
            self.password, self.port
        )
    }

    /// The URL of a `sslmode=verify-full` connection trusting `ca_pem`.
    pub fn verify_full_url(&self, ca_pem: &Path) -> String {
        self.url(&format!(
            "?sslmode=verify-full&sslrootcert={}",
            ca_pem.display()
        ))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.home.join("data")
    }

    /// A command running `program` of PostgreSQL as the cluster's user.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(path);
                command
            }
            None => Command::new(path),
        }
    }

    /// Writes `text` to `name` in the cluster's directory, owned by the cluster's user and
    /// readable by it only.
    fn write_owned(&self, name: &str, text: &[u8]) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.home.join(name);
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
        self.chown(&path);
        path
    }

    fn chown(&self, path: &Path) {
        if let Some(user) = &self.run_as {
            let (uid, gid) = user_ids(user);
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("cannot give {} to {user}: {e}", path.display()));
        }
    }

    fn init(&self, ca: &TestCa) {
        self.chown(&self.home);
        let read = |p: &Path| {
            std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
        };
        let cert = self.write_owned("server.pem", &read(ca.server_cert()));
        let key = self.write_owned("server.key", &read(ca.server_key()));
        let pwfile = self.write_owned("pwfile", format!("{}\n", self.password).as_bytes());
        run(self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", PG_USER, "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display())));
        let conf = format!(
            "\n# ministry-feed test cluster\nlisten_addresses = '127.0.0.1,127.0.0.2'\nport = {}\n\
             unix_socket_directories = '{}'\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            self.port,
            self.home.display(),
            cert.display(),
            key.display(),
        );
        append(&self.data().join("postgresql.conf"), &conf);
        // Only TLS connections over TCP; local socket for pg_ctl.
        let hba = "local all all trust\nhostssl all all 127.0.0.0/8 scram-sha-256\n";
        let hba_path = self.data().join("pg_hba.conf");
        std::fs::write(&hba_path, hba)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", hba_path.display()));
        self.chown(&hba_path);
    }

    fn pg_ctl_start(&self) {
        let log = self.home.join("server.log");
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run pg_ctl: {e}"));
        assert!(
            out.status.success(),
            "the private PostgreSQL cluster did not start: {}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The directory of `initdb` and `pg_ctl`: `PG_BIN_DIR`, else the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn pg_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "PostgreSQL's server programs (initdb, pg_ctl) are not under /usr/lib/postgresql/*/bin: \
             install them (scripts/ensure-postgres does, with apt-get install postgresql) or set PG_BIN_DIR"
        )
    })
}

/// The uid and gid of `user` (from `id`).
fn user_ids(user: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .unwrap_or_else(|e| panic!("cannot run id: {e}"));
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| {
                panic!(
                    "there is no user {user:?} to run PostgreSQL as (it comes with apt-get install postgresql)"
                )
            })
    };
    (id("-u"), id("-g"))
}

fn append(path: &Path, text: &str) {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap_or_else(|e| panic!("cannot append to {}: {e}", path.display()));
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

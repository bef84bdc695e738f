//! Rebuilds the sink when a migration changes: `sqlx::migrate!` embeds the files at compile
//! time, and cargo would not notice an edited migration on its own.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

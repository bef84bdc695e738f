//! JSON Schemas of the messages and of source profiles, generated from the types. The committed copies in
//! `shared/schemas/` are checked against the types by a test; regenerate them with
//! `UPDATE_SCHEMAS=1 cargo test -p shared schemas`.

use crate::messages::{DeadLetter, RawPage, SpeechRecord};
use crate::profile::SourceProfile;

/// `(file name, pretty JSON Schema)` for every message type.
pub fn all() -> Vec<(&'static str, String)> {
    fn pretty(schema: schemars::Schema) -> String {
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    }
    vec![
        ("raw_page.v1.json", pretty(schemars::schema_for!(RawPage))),
        (
            "speech_record.v1.json",
            pretty(schemars::schema_for!(SpeechRecord)),
        ),
        (
            "dead_letter.v1.json",
            pretty(schemars::schema_for!(DeadLetter)),
        ),
        (
            "source_profile.json",
            pretty(schemars::schema_for!(SourceProfile)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn committed_schemas_match_the_types() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
        for (name, generated) in super::all() {
            let path = dir.join(name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &generated).unwrap();
                continue;
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == generated,
                "{} is out of date with the Rust types; run `UPDATE_SCHEMAS=1 cargo test -p shared schemas` and commit the result",
                path.display()
            );
        }
    }
}

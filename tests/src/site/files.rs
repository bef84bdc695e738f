//! A user's site in the fixture site: listings, feeds and robots.txt are files under a
//! folder (`served/`), served as they are (a path ending in `/` serves its `index.html`);
//! statements are the corpus's pages at their `paths`.

use super::*;

pub(super) fn route(state: &SiteState, dir: &Path, path: &str) -> Option<Resource> {
    let statement = state
        .statements
        .iter()
        .find(|s| s.visible && s.meta.paths.values().any(|p| p == path));
    if let Some(s) = statement {
        let lang = s.meta.paths.iter().find(|(_, p)| *p == path)?.0;
        return s.pages.get(lang).map(Resource::page);
    }
    // A served file: no `..`, no hidden files.
    if path
        .split('/')
        .any(|seg| seg == ".." || seg.starts_with('.'))
    {
        return None;
    }
    let mut file = dir.join(path.trim_start_matches('/'));
    if path.ends_with('/') {
        file = file.join("index.html");
    }
    let body = std::fs::read(&file).ok()?;
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("rss") | Some("xml") => "application/rss+xml; charset=UTF-8",
        Some("atom") => "application/atom+xml; charset=UTF-8",
        Some("txt") => "text/plain; charset=UTF-8",
        _ => "text/html; charset=UTF-8",
    };
    let mut r = Resource::generated(content_type, String::new(), state.changed_at);
    r.etag = etag_of(&body);
    r.body = Bytes::from(body);
    Some(r)
}

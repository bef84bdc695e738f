//! Which source a page is from, and the record's URL, document id and language.

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Node, Selector};
use shared::Lang;
use url::Url;

use super::{ExtractError, Extractor, PageInput, Source};
use crate::page::PageParts;

pub(super) fn lang_of_tag(tag: &str) -> Option<Lang> {
    tag.get(..2)?.parse::<Lang>().ok()
}

/// `<link rel=canonical>` and `og:url`: where a saved page says it comes from.
static PAGE_LINKS: LazyLock<Option<Selector>> = LazyLock::new(|| {
    Selector::parse("link[rel~=canonical][href], meta[property=\"og:url\"][content]").ok()
});

/// The source of a page: named, else by the URL's host, else by the page's canonical link or
/// og:url, else the first.
pub(super) fn pick_source<'e>(
    input: &PageInput<'_>,
    ctx: &'e Extractor,
    html: &Html,
) -> Result<&'e Source, ExtractError> {
    if let Some(name) = input.source {
        return ctx
            .try_source(name)?
            .ok_or_else(|| ExtractError::UnknownSource {
                name: name.to_string(),
            });
    }
    let by_url = [input.url, input.fetch_url]
        .into_iter()
        .flatten()
        .find_map(|u| ctx.source_for_url(u));
    // The page's own links decide only when nothing says where the page came from.
    let offline = input.url.is_none() && input.fetch_url.is_none();
    let by_page = || {
        if !offline {
            return None;
        }
        let links = PAGE_LINKS.as_ref()?;
        // Only `link` and `meta` elements can match: the selector runs on them alone, in
        // document order (as `Html::select` would).
        html.tree.root().descendants().find_map(|node| {
            let Node::Element(el) = node.value() else {
                return None;
            };
            if !matches!(el.name(), "link" | "meta") {
                return None;
            }
            let element = ElementRef::wrap(node)?;
            if !links.matches(&element) {
                return None;
            }
            let url = el.attr("href").or_else(|| el.attr("content"))?;
            ctx.source_for_url(url)
        })
    };
    by_url
        .or_else(by_page)
        .or_else(|| ctx.first())
        .unwrap_or_else(|| {
            Err(ExtractError::UnknownSource {
                name: String::new(),
            })
        })
}

/// The record's URL, document id and language (issue 13.4). An explicit URL is used as is.
/// Otherwise the URL the page was fetched from (the raw page's) decides the document and the
/// language; the page's canonical link or `og:url` only chooses the record's `url` when it
/// names the same document on one of the source's own hosts (a link to another document or
/// host changes nothing and is logged). Without either URL (an offline parse of a file), the
/// canonical link, else `og:url`, is the page's URL.
pub(super) fn record_identity(
    input: &PageInput<'_>,
    source: &Source,
    parts: &PageParts,
) -> Result<(Url, String, Option<Lang>), ExtractError> {
    let profile = &source.profile;
    fn non_empty(u: Option<&str>) -> Option<&str> {
        u.map(str::trim).filter(|u| !u.is_empty())
    }
    if let Some(explicit) = non_empty(input.url) {
        return source.parse_statement_url(explicit);
    }
    let links: Vec<&str> = [parts.canonical.as_deref(), parts.og_url.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    if let Some(fetched) = non_empty(input.fetch_url) {
        let (fetch_url, doc_id, lang) = source.parse_statement_url(fetched)?;
        let own = links.iter().find_map(|link| {
            let same = source
                .parse_statement_url(link)
                .ok()
                .filter(|(u, id, l)| {
                    *id == doc_id
                        && u.host_str().is_some_and(|h| profile.declares_host(h))
                        && (l.is_none() || lang.is_none() || *l == lang)
                });
            if same.is_none() {
                tracing::warn!(
                    link = *link,
                    fetched = fetched,
                    "the page links another document or host as its own URL; ignored (the fetched URL decides)"
                );
            }
            same
        });
        let url = own.map_or(fetch_url, |(u, _, _)| u);
        return Ok((url, doc_id, lang));
    }
    let first = *links.first().ok_or_else(|| ExtractError::NoUrl {
        example: profile.example_url.clone(),
    })?;
    links
        .iter()
        .find_map(|u| source.parse_statement_url(u).ok())
        .ok_or_else(|| ExtractError::NotStatementUrl {
            url: first.to_string(),
            site: profile.name.clone(),
            example: profile.example_url.clone(),
        })
}

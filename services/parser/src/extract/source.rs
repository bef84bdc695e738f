//! The compiled sources: each profile with every matcher the engine needs.

use std::sync::{Arc, OnceLock};

use shared::profile::{DocIdMatcher, LangMatcher, ProfileError, Profiles, SourceProfile};
use shared::{Lang, SpeechRecord};
use url::Url;

use super::{ExtractError, PageInput, extract};
use crate::dates::DateGrammar;
use crate::kinds::KindTable;
use crate::officials::{Registry, RegistryError};
use crate::page::PageRules;
use crate::title::TitleGrammar;
use crate::turns::LabelRules;
/// Why the sources cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// An officials registry is invalid.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// One source, compiled once: its profile and every matcher the engine needs.
#[derive(Debug)]
pub struct Source {
    pub(super) profile: Arc<SourceProfile>,
    pub(super) doc_id: DocIdMatcher,
    pub(super) langs: LangMatcher,
    pub(super) page: PageRules,
    pub(super) dates: DateGrammar,
    pub(super) title: TitleGrammar,
    pub(super) kinds: KindTable,
    pub(super) labels: LabelRules,
    pub(super) registry: Registry,
    root: Option<Url>,
}

impl Source {
    /// Compiles `profile`, merging `extra_officials` (JSON text, origin) into its registry.
    pub fn compile(
        profile: Arc<SourceProfile>,
        extra_officials: Option<(&str, &str)>,
    ) -> Result<Self, SourceError> {
        let dates = DateGrammar::compile(&profile)?;
        Ok(Source {
            doc_id: DocIdMatcher::new(&profile)?,
            langs: LangMatcher::new(&profile),
            page: PageRules::compile(&profile)?,
            title: TitleGrammar::compile(&profile, &dates)?,
            kinds: KindTable::compile(&profile)?,
            labels: LabelRules::new(&profile),
            registry: Registry::of_profile_with_extra(&profile, extra_officials)?,
            root: profile.site_root(),
            dates,
            profile,
        })
    }

    /// The profile.
    pub fn profile(&self) -> &SourceProfile {
        &self.profile
    }

    /// The officials registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The compiled page rules.
    pub fn page_rules(&self) -> &PageRules {
        &self.page
    }

    /// The compiled date grammar.
    pub fn dates(&self) -> &DateGrammar {
        &self.dates
    }

    /// The compiled title grammar.
    pub fn title_grammar(&self) -> &TitleGrammar {
        &self.title
    }

    /// The compiled kind cues.
    pub fn kinds(&self) -> &KindTable {
        &self.kinds
    }

    /// The turn label rules.
    pub fn labels(&self) -> &LabelRules {
        &self.labels
    }

    /// The document id and language a statement URL names.
    pub fn parse_statement_url(
        &self,
        url: &str,
    ) -> Result<(Url, String, Option<Lang>), ExtractError> {
        let not_statement = || ExtractError::NotStatementUrl {
            url: url.to_string(),
            site: self.profile.name.clone(),
            example: self.profile.example_url.clone(),
        };
        let parsed = Url::parse(url.trim())
            .or_else(|e| match &self.root {
                Some(root) => root.join(url.trim()),
                None => Err(e),
            })
            .map_err(|_| not_statement())?;
        let doc_id = self
            .doc_id
            .doc_id(parsed.path())
            .ok_or_else(not_statement)?;
        let lang = self.langs.lang_of(&parsed);
        Ok((parsed, doc_id, lang))
    }
}

/// One source of an [`Extractor`]: its profile, compiled on first use (or at construction,
/// see [`Extractor::new`]).
#[derive(Debug)]
struct Slot {
    profile: Arc<SourceProfile>,
    compiled: OnceLock<Result<Source, String>>,
}

/// Every source the parser knows, each compiled once and shared by every page.
#[derive(Debug)]
pub struct Extractor {
    slots: Vec<Slot>,
    /// `--officials`: the extra registry (JSON text, origin) merged into each source's.
    extra_officials: Option<(String, String)>,
}

impl Extractor {
    /// Compiles every profile of `profiles` now, merging `extra_officials` (JSON text,
    /// origin) into each source's registry: an invalid profile or registry is an error here,
    /// at start (the service).
    pub fn new(
        profiles: &Profiles,
        extra_officials: Option<(&str, &str)>,
    ) -> Result<Self, SourceError> {
        let extractor = Self::lazy(profiles, extra_officials);
        for slot in &extractor.slots {
            let source = Source::compile(Arc::clone(&slot.profile), extractor.extra_officials())?;
            let _ = slot.compiled.set(Ok(source));
        }
        Ok(extractor)
    }

    /// Like [`Extractor::new`], but each source is compiled when a page first needs it
    /// (`parser parse`: a run over one site's pages compiles one profile, not all). A source
    /// that fails to compile gives [`ExtractError::InvalidSource`] for its pages.
    pub fn lazy(profiles: &Profiles, extra_officials: Option<(&str, &str)>) -> Self {
        Extractor {
            slots: profiles
                .all()
                .iter()
                .map(|p| Slot {
                    profile: Arc::clone(p),
                    compiled: OnceLock::new(),
                })
                .collect(),
            extra_officials: extra_officials.map(|(t, o)| (t.to_string(), o.to_string())),
        }
    }

    /// The built-in sources.
    pub fn builtin() -> Result<Self, SourceError> {
        Self::new(&Profiles::load(&[])?, None)
    }

    fn extra_officials(&self) -> Option<(&str, &str)> {
        self.extra_officials
            .as_ref()
            .map(|(t, o)| (t.as_str(), o.as_str()))
    }

    fn compiled<'a>(&'a self, slot: &'a Slot) -> Result<&'a Source, ExtractError> {
        slot.compiled
            .get_or_init(|| {
                Source::compile(Arc::clone(&slot.profile), self.extra_officials())
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|reason| ExtractError::InvalidSource {
                name: slot.profile.name.clone(),
                reason: reason.clone(),
            })
    }

    /// The names of every source, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|s| s.profile.name.as_str())
    }

    /// The source named `name`, compiled (`Err` when it fails to compile, `Ok(None)` when
    /// there is no such source).
    pub fn try_source(&self, name: &str) -> Result<Option<&Source>, ExtractError> {
        self.slots
            .iter()
            .find(|s| s.profile.name == name)
            .map(|slot| self.compiled(slot))
            .transpose()
    }

    /// The source named `name` (`None` also when it fails to compile).
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.try_source(name).ok().flatten()
    }

    /// The source whose hosts include the host of `url`, compiled.
    pub fn source_for_url(&self, url: &str) -> Option<Result<&Source, ExtractError>> {
        let host = Url::parse(url.trim()).ok()?.host_str()?.to_string();
        self.slots
            .iter()
            .find(|s| s.profile.declares_host(&host))
            .map(|slot| self.compiled(slot))
    }

    /// The first source (mid.ru among the built-ins), compiled.
    pub fn first(&self) -> Option<Result<&Source, ExtractError>> {
        self.slots.first().map(|slot| self.compiled(slot))
    }

    /// Extracts one page (see [`extract`]).
    pub fn extract(&self, input: &PageInput<'_>) -> Result<SpeechRecord, ExtractError> {
        extract(input, self)
    }
}

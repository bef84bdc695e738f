//! The interface languages (English, Russian): choice and texts. Pure, no I/O.

use chrono::{DateTime, Datelike as _, FixedOffset, NaiveDate, Timelike as _};
use shared::{Kind, Lang};

/// An interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ui {
    /// English.
    En,
    /// Russian.
    Ru,
}

/// Name of the cookie (and query parameter) holding the chosen interface language.
pub const UI_PARAM: &str = "ui";

impl Ui {
    /// Both languages, in the order the switcher shows them.
    pub const ALL: [Ui; 2] = [Ui::En, Ui::Ru];

    /// `en` or `ru`.
    pub fn code(self) -> &'static str {
        match self {
            Ui::En => "en",
            Ui::Ru => "ru",
        }
    }

    /// The language named by `code` (`en`, `ru`), if it is one.
    pub fn from_code(code: &str) -> Option<Ui> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Ui::En),
            "ru" => Some(Ui::Ru),
            _ => None,
        }
    }

    /// The language to use: the `ui` parameter, else the cookie, else the best of
    /// `Accept-Language`, else English.
    pub fn choose(param: Option<&str>, cookie: Option<&str>, accept: Option<&str>) -> Ui {
        param
            .and_then(Ui::from_code)
            .or_else(|| cookie.and_then(Ui::from_code))
            .or_else(|| accept.and_then(from_accept_language))
            .unwrap_or(Ui::En)
    }

    /// The texts of this language.
    pub fn t(self) -> &'static Texts {
        match self {
            Ui::En => &EN,
            Ui::Ru => &RU,
        }
    }

    /// The language's own name, for the switcher.
    pub fn endonym(self) -> &'static str {
        match self {
            Ui::En => "English",
            Ui::Ru => "Русский",
        }
    }

    /// A record language's name.
    pub fn lang_name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Ui::En, Lang::En) => "English",
            (Ui::En, Lang::Ru) => "Russian",
            (Ui::En, Lang::De) => "German",
            (Ui::En, Lang::Fr) => "French",
            (Ui::En, Lang::Es) => "Spanish",
            (Ui::En, Lang::Pt) => "Portuguese",
            (Ui::Ru, Lang::En) => "английский",
            (Ui::Ru, Lang::Ru) => "русский",
            (Ui::Ru, Lang::De) => "немецкий",
            (Ui::Ru, Lang::Fr) => "французский",
            (Ui::Ru, Lang::Es) => "испанский",
            (Ui::Ru, Lang::Pt) => "португальский",
        }
    }

    /// A kind's label.
    pub fn kind_name(self, kind: Kind) -> &'static str {
        let en = match kind {
            Kind::Speech => ["Speech", "Выступление"],
            Kind::Remarks => ["Remarks", "Слово"],
            Kind::Statement => ["Statement", "Заявление"],
            Kind::Interview => ["Interview", "Интервью"],
            Kind::Answers => ["Answers to questions", "Ответы на вопросы"],
            Kind::Briefing => ["Briefing", "Брифинг"],
            Kind::PressConference => ["Press conference", "Пресс-конференция"],
            Kind::Comment => ["Comment", "Комментарий"],
            Kind::PressRelease => ["Press release", "Сообщение для СМИ"],
            Kind::Article => ["Article", "Статья"],
            Kind::Greetings => ["Greetings", "Приветствие"],
            Kind::Other => ["Other", "Другое"],
        };
        en[self as usize]
    }

    /// `18 July 2024, 14:30` / `18 июля 2024, 14:30`, in the time's own offset.
    pub fn date_time(self, t: &DateTime<FixedOffset>) -> String {
        format!(
            "{}, {:02}:{:02}",
            self.date(t.date_naive()),
            t.hour(),
            t.minute()
        )
    }

    /// `18 July 2024` / `18 июля 2024`.
    pub fn date(self, d: NaiveDate) -> String {
        let month = d.month0() as usize;
        let name = match self {
            Ui::En => shared::months::EN[month],
            Ui::Ru => shared::months::RU_GENITIVE[month],
        };
        format!("{} {name} {}", d.day(), d.year())
    }
}

/// `UTC+3`, `UTC+5:30`, `UTC`: the zone of a time as the site gave it.
pub fn zone(t: &DateTime<FixedOffset>) -> String {
    let seconds = t.offset().local_minus_utc();
    if seconds == 0 {
        return "UTC".into();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let (h, m) = (seconds.abs() / 3600, seconds.abs() % 3600 / 60);
    if m == 0 {
        format!("UTC{sign}{h}")
    } else {
        format!("UTC{sign}{h}:{m:02}")
    }
}

/// The preferred of English and Russian in an `Accept-Language` header.
fn from_accept_language(header: &str) -> Option<Ui> {
    let mut best: Option<(f32, Ui)> = None;
    for part in header.split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or_default().trim();
        let primary = tag.split('-').next().unwrap_or_default();
        let Some(ui) = Ui::from_code(primary) else {
            continue;
        };
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, ui));
        }
    }
    best.map(|(_, ui)| ui)
}

/// Every text of the interface.
#[derive(Debug)]
pub struct Texts {
    /// Name of the site.
    pub site: &'static str,
    /// "Skip to content".
    pub skip: &'static str,
    /// Main navigation label.
    pub nav: &'static str,
    /// Latest statements.
    pub latest: &'static str,
    /// Search.
    pub search: &'static str,
    /// Interface language switcher label.
    pub interface_language: &'static str,
    /// Filters legend.
    pub filters: &'static str,
    /// Source filter.
    pub source: &'static str,
    /// Language filter.
    pub language: &'static str,
    /// Kind filter.
    pub kind: &'static str,
    /// Speaker filter.
    pub speaker: &'static str,
    /// Speaker field hint.
    pub speaker_hint: &'static str,
    /// From date.
    pub from: &'static str,
    /// To date.
    pub to: &'static str,
    /// "All" option.
    pub all: &'static str,
    /// Apply the filters.
    pub apply: &'static str,
    /// Clear the filters.
    pub clear: &'static str,
    /// Search field label.
    pub search_words: &'static str,
    /// Search syntax hint.
    pub search_hint: &'static str,
    /// Search button.
    pub search_button: &'static str,
    /// Results count: one.
    pub result_one: &'static str,
    /// Results count: few (ru 2–4).
    pub result_few: &'static str,
    /// Results count: many.
    pub result_many: &'static str,
    /// No results.
    pub nothing: &'static str,
    /// Older page.
    pub older: &'static str,
    /// Next results.
    pub more_results: &'static str,
    /// Back to the first page.
    pub newest: &'static str,
    /// Atom feed link.
    pub feed: &'static str,
    /// Export link.
    pub export: &'static str,
    /// For the current filters.
    pub for_filters: &'static str,
    /// Live updates on.
    pub live_on: &'static str,
    /// Live updates interrupted.
    pub live_off: &'static str,
    /// Announcement of a new statement.
    pub live_new: &'static str,
    /// Date.
    pub date: &'static str,
    /// Place.
    pub place: &'static str,
    /// Speakers.
    pub speakers: &'static str,
    /// Document number.
    pub doc_number: &'static str,
    /// Original page.
    pub original: &'static str,
    /// Date unknown.
    pub no_date: &'static str,
    /// Other versions.
    pub versions_other: &'static str,
    /// Side by side.
    pub side_by_side: &'static str,
    /// Version history.
    pub history: &'static str,
    /// JSON link.
    pub json: &'static str,
    /// A question turn.
    pub question: &'static str,
    /// An interpreted turn.
    pub interpreted: &'static str,
    /// The asking outlet.
    pub outlet: &'static str,
    /// Transcript heading.
    pub transcript: &'static str,
    /// Text heading.
    pub text: &'static str,
    /// Not stored (other language).
    pub not_stored: &'static str,
    /// Version.
    pub version: &'static str,
    /// Stored at.
    pub stored_at: &'static str,
    /// First version.
    pub first_version: &'static str,
    /// Added paragraph.
    pub added: &'static str,
    /// Removed paragraph.
    pub removed: &'static str,
    /// No changes to the text.
    pub no_text_change: &'static str,
    /// Title changed.
    pub title_changed: &'static str,
    /// Paragraph number.
    pub paragraph: &'static str,
    /// Back to the statement.
    pub back: &'static str,
    /// No other language version stored.
    pub no_other: &'static str,
    /// Not found.
    pub not_found: &'static str,
    /// Bad request.
    pub bad_request: &'static str,
    /// Store unavailable.
    pub unavailable: &'static str,
    /// Footer: for programs.
    pub for_programs: &'static str,
}

static EN: Texts = Texts {
    site: "Reading room",
    skip: "Skip to content",
    nav: "Main",
    latest: "Latest statements",
    search: "Search",
    interface_language: "Interface language",
    filters: "Filters",
    source: "Source",
    language: "Language",
    kind: "Kind",
    speaker: "Speaker",
    speaker_hint: "part of a name, e.g. Lavrov",
    from: "From",
    to: "To",
    all: "All",
    apply: "Apply",
    clear: "Clear",
    search_words: "Words or phrases",
    search_hint: "\"a phrase\", OR, -word; English and Russian",
    search_button: "Search",
    result_one: "result",
    result_few: "results",
    result_many: "results",
    nothing: "No statements match.",
    older: "Older statements",
    more_results: "More results",
    newest: "Newest",
    feed: "Atom feed",
    export: "Export (JSON Lines)",
    for_filters: "for these filters",
    live_on: "Live: new statements appear here as they are stored.",
    live_off: "Live updates interrupted; reconnecting…",
    live_new: "New statement:",
    date: "Date",
    place: "Place",
    speakers: "Speakers",
    doc_number: "Document number",
    original: "Original page",
    no_date: "date unknown",
    versions_other: "In other languages",
    side_by_side: "Side by side",
    history: "Version history",
    json: "JSON",
    question: "Question",
    interpreted: "interpreted",
    outlet: "asked by",
    transcript: "Transcript",
    text: "Text",
    not_stored: "not stored yet",
    version: "Version",
    stored_at: "stored",
    first_version: "First version stored.",
    added: "Added",
    removed: "Removed",
    no_text_change: "The text did not change (only details such as the date or tags).",
    title_changed: "Title changed",
    paragraph: "paragraph",
    back: "Back to the statement",
    no_other: "No other language version of this statement is stored.",
    not_found: "There is no statement with this id.",
    bad_request: "These filters cannot be used",
    unavailable: "The database is unavailable; try again shortly.",
    for_programs: "For programs",
};

static RU: Texts = Texts {
    site: "Читальный зал",
    skip: "К содержанию",
    nav: "Разделы",
    latest: "Последние заявления",
    search: "Поиск",
    interface_language: "Язык интерфейса",
    filters: "Фильтры",
    source: "Источник",
    language: "Язык",
    kind: "Вид",
    speaker: "Кто говорит",
    speaker_hint: "часть имени латиницей, напр. Lavrov",
    from: "С",
    to: "По",
    all: "Все",
    apply: "Применить",
    clear: "Сбросить",
    search_words: "Слова или фразы",
    search_hint: "\"фраза\", OR, -слово; по-русски и по-английски",
    search_button: "Найти",
    result_one: "результат",
    result_few: "результата",
    result_many: "результатов",
    nothing: "Ничего не найдено.",
    older: "Более ранние",
    more_results: "Ещё результаты",
    newest: "Самые новые",
    feed: "Лента Atom",
    export: "Выгрузка (JSON Lines)",
    for_filters: "по этим фильтрам",
    live_on: "В прямом эфире: новые заявления появляются здесь сразу после сохранения.",
    live_off: "Обновления прервались; переподключение…",
    live_new: "Новое заявление:",
    date: "Дата",
    place: "Место",
    speakers: "Кто говорит",
    doc_number: "Номер документа",
    original: "Оригинал",
    no_date: "дата неизвестна",
    versions_other: "На других языках",
    side_by_side: "Рядом",
    history: "История версий",
    json: "JSON",
    question: "Вопрос",
    interpreted: "в переводе",
    outlet: "спрашивает",
    transcript: "Стенограмма",
    text: "Текст",
    not_stored: "ещё не сохранена",
    version: "Версия",
    stored_at: "сохранена",
    first_version: "Первая сохранённая версия.",
    added: "Добавлено",
    removed: "Удалено",
    no_text_change: "Текст не изменился (только дата, теги и т. п.).",
    title_changed: "Заголовок изменён",
    paragraph: "абзац",
    back: "К заявлению",
    no_other: "Других языковых версий этого заявления нет.",
    not_found: "Заявления с таким идентификатором нет.",
    bad_request: "Эти фильтры нельзя применить",
    unavailable: "База данных недоступна; попробуйте чуть позже.",
    for_programs: "Для программ",
};

impl Texts {
    /// "N results" with the right plural form.
    pub fn results(&self, n: u64) -> String {
        let word = match (n % 10, n % 100) {
            (1, r) if r != 11 => self.result_one,
            (2..=4, r) if !(12..=14).contains(&r) => self.result_few,
            _ => self.result_many,
        };
        format!("{n} {word}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_chosen_by_param_cookie_then_header() {
        assert_eq!(Ui::choose(None, None, None), Ui::En);
        assert_eq!(
            Ui::choose(None, None, Some("ru-RU,ru;q=0.9,en;q=0.8")),
            Ui::Ru
        );
        assert_eq!(
            Ui::choose(None, None, Some("de, en;q=0.5, ru;q=0.7")),
            Ui::Ru
        );
        assert_eq!(Ui::choose(None, None, Some("de-DE, fr")), Ui::En);
        assert_eq!(Ui::choose(None, Some("ru"), Some("en")), Ui::Ru);
        assert_eq!(Ui::choose(Some("en"), Some("ru"), Some("ru")), Ui::En);
        assert_eq!(Ui::choose(Some("xx"), Some("ru"), None), Ui::Ru);
    }

    #[test]
    fn dates_are_written_in_the_site_zone() {
        let t = DateTime::parse_from_rfc3339("2024-07-18T14:30:00+03:00").expect("time");
        assert_eq!(Ui::En.date_time(&t), "18 July 2024, 14:30");
        assert_eq!(Ui::Ru.date_time(&t), "18 июля 2024, 14:30");
        assert_eq!(zone(&t), "UTC+3");
        let t = DateTime::parse_from_rfc3339("2024-07-18T14:30:00+05:30").expect("time");
        assert_eq!(zone(&t), "UTC+5:30");
    }

    #[test]
    fn russian_plurals() {
        let t = Ui::Ru.t();
        assert_eq!(t.results(1), "1 результат");
        assert_eq!(t.results(3), "3 результата");
        assert_eq!(t.results(11), "11 результатов");
        assert_eq!(t.results(22), "22 результата");
        assert_eq!(Ui::En.t().results(2), "2 results");
    }
}

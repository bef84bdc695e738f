//! Month names as the sites and the reading room write them.

/// English month names, January first.
pub const EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Russian month names in the genitive, as in a date ("10 января 2022"), January first.
pub const RU_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

/// The month (1 to 12) of a lowercase `name`: an English name or its abbreviation of three
/// letters or more ("sept"), or a Russian genitive.
pub fn number(name: &str) -> Option<u32> {
    let english = EN.iter().position(|m| {
        let m = m.as_bytes();
        name.len() >= 3
            && name.len() <= m.len()
            && m[0].to_ascii_lowercase() == name.as_bytes()[0]
            && m[1..name.len()] == name.as_bytes()[1..]
    });
    english
        .or_else(|| RU_GENITIVE.iter().position(|m| *m == name))
        .and_then(|m| u32::try_from(m + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_found_by_name_abbreviation_and_genitive() {
        assert_eq!(number("january"), Some(1));
        assert_eq!(number("sept"), Some(9));
        assert_eq!(number("dec"), Some(12));
        assert_eq!(number("мая"), Some(5));
        assert_eq!(number("декабря"), Some(12));
        assert_eq!(number("ma"), None);
        assert_eq!(number("mayday"), None);
        assert_eq!(number("май"), None);
    }
}

//! robots.txt: parsing and the Allow/Disallow longest-match decision (RFC 9309), with the
//! `*` and `$` wildcards. Pure logic, no I/O.

/// One Allow or Disallow line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    allow: bool,
    pattern: String,
}

#[derive(Debug, Clone, Default)]
struct Group {
    agents: Vec<String>,
    rules: Vec<Rule>,
}

/// A parsed robots.txt.
#[derive(Debug, Clone, Default)]
pub struct Robots {
    groups: Vec<Group>,
}

impl Robots {
    /// Rules that allow everything (robots.txt missing: 404 or 410).
    pub fn allow_all() -> Self {
        Robots::default()
    }

    /// Rules that forbid everything: used while robots.txt cannot be read (5xx), as RFC 9309
    /// asks, so nothing is fetched that the site might forbid.
    pub fn disallow_all() -> Self {
        Robots {
            groups: vec![Group {
                agents: vec!["*".into()],
                rules: vec![Rule {
                    allow: false,
                    pattern: "/".into(),
                }],
            }],
        }
    }

    /// Parses robots.txt text. Unknown lines are ignored; never fails.
    pub fn parse(text: &str) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        let mut current: Option<Group> = None;
        let mut last_was_agent = false;
        for raw in text.lines() {
            let line = raw.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !last_was_agent {
                        if let Some(group) = current.take() {
                            groups.push(group);
                        }
                        current = Some(Group::default());
                    }
                    if let Some(group) = current.as_mut() {
                        group.agents.push(value.to_ascii_lowercase());
                    }
                    last_was_agent = true;
                }
                "allow" | "disallow" => {
                    last_was_agent = false;
                    let Some(group) = current.as_mut() else {
                        continue;
                    };
                    if value.is_empty() {
                        // An empty Disallow allows everything; an empty Allow says nothing.
                        continue;
                    }
                    group.rules.push(Rule {
                        allow: key == "allow",
                        pattern: value.to_string(),
                    });
                }
                _ => {
                    last_was_agent = false;
                }
            }
        }
        if let Some(group) = current.take() {
            groups.push(group);
        }
        Robots { groups }
    }

    /// Whether `user_agent` may fetch `path_and_query` (e.g. `/en/foreign_policy/news/?PAGEN_1=2`).
    ///
    /// The groups naming the agent's product token apply (else the `*` groups); among their
    /// rules the longest matching pattern wins, and Allow wins a tie.
    pub fn is_allowed(&self, user_agent: &str, path_and_query: &str) -> bool {
        let token = product_token(user_agent);
        let specific: Vec<&Group> = self
            .groups
            .iter()
            .filter(|g| {
                g.agents
                    .iter()
                    .any(|a| a != "*" && !a.is_empty() && *a == token)
            })
            .collect();
        let groups: Vec<&Group> = if specific.is_empty() {
            self.groups
                .iter()
                .filter(|g| g.agents.iter().any(|a| a == "*"))
                .collect()
        } else {
            specific
        };
        let path = if path_and_query.is_empty() {
            "/"
        } else {
            path_and_query
        };
        let mut best: Option<(usize, bool)> = None;
        for rule in groups.iter().flat_map(|g| g.rules.iter()) {
            if pattern_matches(&rule.pattern, path) {
                let len = rule.pattern.len();
                best = match best {
                    Some((best_len, best_allow))
                        if best_len > len || (best_len == len && best_allow) =>
                    {
                        Some((best_len, best_allow))
                    }
                    _ => Some((len, rule.allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// The product token of a User-Agent (`ministry-feed/0.1 (+...)` → `ministry-feed`), lower case.
fn product_token(user_agent: &str) -> String {
    user_agent
        .split(['/', ' '])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Whether a robots pattern matches from the start of `path`: `*` is any run of characters,
/// a final `$` anchors the end.
pub fn pattern_matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let pattern = pattern.as_bytes();
    let path = path.as_bytes();
    // Positions in `path` reachable after matching a prefix of the pattern.
    let mut positions: Vec<bool> = vec![false; path.len() + 1];
    positions[0] = true;
    for &p in pattern {
        let mut next = vec![false; path.len() + 1];
        if p == b'*' {
            let mut reachable = false;
            for i in 0..=path.len() {
                reachable |= positions[i];
                next[i] = reachable;
            }
        } else {
            for i in 0..path.len() {
                if positions[i] && path[i] == p {
                    next[i + 1] = true;
                }
            }
        }
        positions = next;
        if !positions.iter().any(|&b| b) {
            return false;
        }
    }
    if anchored {
        positions[path.len()]
    } else {
        positions.iter().any(|&b| b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UA: &str = "ministry-feed/0.1.0 (+https://github.com/ministry-feed/ministry-feed)";

    #[test]
    fn wildcards_and_anchors() {
        assert!(pattern_matches(
            "/*?PAGEN",
            "/en/foreign_policy/news/?PAGEN_1=2"
        ));
        assert!(!pattern_matches(
            "/*?PAGEN",
            "/en/foreign_policy/news/?activeFrom=1"
        ));
        assert!(pattern_matches("/fish", "/fish.html"));
        assert!(!pattern_matches("/fish", "/Fish"));
        assert!(pattern_matches("/*.php$", "/en/rss.php"));
        assert!(!pattern_matches("/*.php$", "/en/rss.php?x=1"));
        assert!(pattern_matches("/fish*", "/fish"));
        assert!(pattern_matches("/", "/anything"));
        assert!(pattern_matches("/a$", "/a"));
        assert!(!pattern_matches("/a$", "/ab"));
        assert!(pattern_matches("*", ""));
    }

    #[test]
    fn site_rules_forbid_pagination_only() {
        let robots = Robots::parse(
            "User-agent: *\nDisallow: /*?PAGEN\nDisallow: /bitrix/\n\nUser-agent: Yandex\nDisallow: /\n",
        );
        assert!(!robots.is_allowed(UA, "/en/foreign_policy/news/?PAGEN_1=2"));
        assert!(!robots.is_allowed(UA, "/bitrix/admin/"));
        assert!(robots.is_allowed(UA, "/en/foreign_policy/news/"));
        assert!(robots.is_allowed(
            UA,
            "/en/foreign_policy/news/?activeFrom=01.01.2022&activeTo=01.01.2022"
        ));
        assert!(robots.is_allowed(UA, "/en/rss.php"));
        assert!(!robots.is_allowed("Yandex", "/en/"));
    }

    #[test]
    fn longest_match_wins_and_allow_wins_ties() {
        let robots = Robots::parse(
            "user-agent: *\ndisallow: /press_service/\nallow: /press_service/spokesman/\nallow: /x\ndisallow: /x\n",
        );
        assert!(!robots.is_allowed(UA, "/press_service/minister_speeches/"));
        assert!(robots.is_allowed(UA, "/press_service/spokesman/briefings/"));
        assert!(robots.is_allowed(UA, "/x"));
    }

    #[test]
    fn specific_group_replaces_star_group() {
        let robots = Robots::parse(
            "User-agent: *\nDisallow: /\n\nUser-agent: ministry-feed\nUser-agent: other\nDisallow: /private/\n",
        );
        assert!(robots.is_allowed(UA, "/en/"));
        assert!(!robots.is_allowed(UA, "/private/x"));
        assert!(!robots.is_allowed("somebot/1.0", "/en/"));
        // Product tokens match whole, not by prefix.
        assert!(
            !Robots::parse("User-agent: *\nDisallow: /\nUser-agent: ministry\nAllow: /\n")
                .is_allowed(UA, "/en/")
        );
    }

    #[test]
    fn empty_disallow_comments_and_garbage() {
        let robots = Robots::parse("# hi\nUser-agent: * # all\nDisallow:\nnonsense\n\u{0}:\n");
        assert!(robots.is_allowed(UA, "/anything"));
        assert!(Robots::allow_all().is_allowed(UA, "/x"));
        assert!(!Robots::disallow_all().is_allowed(UA, "/x"));
        // Rules before any user-agent line belong to no group.
        assert!(Robots::parse("Disallow: /\n").is_allowed(UA, "/x"));
    }
}

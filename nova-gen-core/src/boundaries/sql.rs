//! Spotting SQL in string literals: which tables a statement names (after FROM, JOIN, INTO,
//! UPDATE, TABLE) and which databases a connection string names. A light scan, not a parser:
//! enough to catch a handwritten query on another service's table.

const TABLE_KEYWORDS: [&str; 6] = ["from", "join", "into", "update", "table", "references"];
const SQL_VERBS: [&str; 7] = ["select", "insert", "update", "delete", "create", "alter", "with"];

/// Table names a string mentions, if it reads as SQL.
pub fn mentioned_tables(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '"'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let is_sql = words.iter().any(|w| SQL_VERBS.contains(&w.to_ascii_lowercase().as_str()));
    if !is_sql {
        return Vec::new();
    }
    let mut tables = Vec::new();
    for pair in words.windows(2) {
        let keyword = pair[0].to_ascii_lowercase();
        if !TABLE_KEYWORDS.contains(&keyword.as_str()) {
            continue;
        }
        let mut name = pair[1].trim_matches('"').to_string();
        if let Some((_schema, table)) = name.rsplit_once('.') {
            name = table.trim_matches('"').to_string();
        }
        let name = name.to_ascii_lowercase();
        if !name.is_empty() && !tables.contains(&name) {
            tables.push(name);
        }
    }
    tables
}

/// Database names in a PostgreSQL connection string (`postgres://host/db`, `dbname=db`).
pub fn mentioned_databases(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for scheme in ["postgres://", "postgresql://"] {
        for (start, _) in text.match_indices(scheme) {
            let rest = &text[start + scheme.len()..];
            if let Some(slash) = rest.find('/') {
                let name: String = rest[slash + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        }
    }
    for (start, _) in text.match_indices("dbname=") {
        let name: String = text[start + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_after_sql_keywords() {
        assert_eq!(mentioned_tables("SELECT id FROM users WHERE id = $1"), ["users"]);
        assert_eq!(mentioned_tables("select * from public.\"users\" u join follows f on true"), ["users", "follows"]);
        assert_eq!(mentioned_tables("INSERT INTO messages (id) VALUES ($1)"), ["messages"]);
        assert_eq!(mentioned_tables("UPDATE users SET x = 1"), ["users"]);
        assert!(mentioned_tables("users from the web").is_empty(), "prose is not SQL");
    }

    #[test]
    fn databases_in_connection_strings() {
        assert_eq!(mentioned_databases("postgres://postgres@127.0.0.1:5432/nova_auth"), ["nova_auth"]);
        assert_eq!(mentioned_databases("host=x dbname=nova_user user=y"), ["nova_user"]);
        assert!(mentioned_databases("nothing here").is_empty());
    }
}

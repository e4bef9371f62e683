//! The small Markdown writers the generated docs share: a line, inline code that survives a
//! table cell, a counted noun, and a table (compact, or padded to line up in a terminal). A leaf:
//! [`crate::docs`] and [`crate::capacity`] write their Markdown with these, none of their own.

use std::fmt::Write;

/// `text` and a newline.
pub fn line(w: &mut String, text: &str) {
    w.push_str(text);
    w.push('\n');
}

/// Inline code that survives a Markdown table cell.
pub fn code(text: impl std::fmt::Display) -> String {
    format!("`{}`", text.to_string().replace('|', "\\|"))
}

/// `1 node`, `3 nodes`.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A Markdown table: a header, a rule, one line per row. `padded` lines the columns up (the
/// capacity table is read in a terminal too); otherwise cells are as short as they come.
pub fn table(w: &mut String, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>, padded: bool) {
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let rows: Vec<Vec<String>> = rows.into_iter().collect();
    let width = |i: usize| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0).max(3);
    let widths: Vec<usize> = if padded { (0..header.len()).map(width).collect() } else { vec![0; header.len()] };
    let row = |w: &mut String, cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, n)| format!("{c}{}", " ".repeat(n.saturating_sub(c.chars().count()))))
            .collect();
        let _ = writeln!(w, "| {} |", cells.join(" | "));
    };
    row(w, &header);
    if padded {
        row(w, &widths.iter().map(|n| "-".repeat(*n)).collect::<Vec<_>>());
    } else {
        line(w, &format!("|{}", "---|".repeat(header.len())));
    }
    for r in &rows {
        row(w, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_compact_and_padded() {
        let rows = || vec![vec!["a".to_owned(), "`x|y`".to_owned()]];
        let mut compact = String::new();
        table(&mut compact, &["Key", "Value"], rows(), false);
        assert_eq!(compact, "| Key | Value |\n|---|---|\n| a | `x|y` |\n");
        let mut padded = String::new();
        table(&mut padded, &["Key", "Value"], rows(), true);
        assert_eq!(padded, "| Key | Value |\n| --- | ----- |\n| a   | `x|y` |\n");
        assert_eq!(code("x|y"), "`x\\|y`");
        assert_eq!((plural(1u64, "node", "nodes"), plural(3u64, "node", "nodes")), ("1 node".into(), "3 nodes".into()));
    }
}

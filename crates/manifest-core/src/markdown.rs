//! The small Markdown writers the generated docs share: a line, inline code that survives a
//! table cell, a counted noun, and a table (compact, or padded to line up in a terminal). A leaf:
//! [`crate::docs`] and [`crate::capacity`] write their Markdown with these, none of their own.

use std::fmt::Write;

/// Formats a line straight into `w` (a `String`): [`line`] of a `format!` without the
/// intermediate string. The README is written from many such lines.
macro_rules! linef {
    ($w:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        writeln!($w, $($arg)*).expect("writing to a String")
    }};
}
pub(crate) use linef;

/// `text` and a newline.
pub fn line(w: &mut String, text: &str) {
    w.push_str(text);
    w.push('\n');
}

/// Inline code that survives a Markdown table cell.
pub fn code(text: impl std::fmt::Display) -> String {
    let mut out = String::from("`");
    write!(Escaped(&mut out), "{text}").expect("writing to a String");
    out.push('`');
    out
}

/// Writes into a `String` with every `|` escaped, so inline code stays in its table cell.
struct Escaped<'a>(&'a mut String);

impl std::fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let mut rest = s;
        while let Some(i) = rest.find('|') {
            self.0.push_str(&rest[..i]);
            self.0.push_str("\\|");
            rest = &rest[i + 1..];
        }
        self.0.push_str(rest);
        Ok(())
    }
}

/// `1 node`, `3 nodes`.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A Markdown table: a header, a rule, one line per row. `padded` lines the columns up (the
/// capacity table is read in a terminal too); otherwise cells are as short as they come.
pub fn table(w: &mut String, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>, padded: bool) {
    let rows: Vec<Vec<String>> = rows.into_iter().collect();
    let widths: Vec<usize> = if padded {
        let width = |i: usize| {
            let cells = rows.iter().map(|r| r[i].chars().count());
            cells.chain([header[i].chars().count()]).max().unwrap_or(0).max(3)
        };
        (0..header.len()).map(width).collect()
    } else {
        vec![0; header.len()]
    };
    let row = |w: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        w.push('|');
        for (cell, width) in cells.zip(&widths) {
            w.push(' ');
            w.push_str(cell);
            if padded {
                w.extend(std::iter::repeat_n(' ', width.saturating_sub(cell.chars().count())));
            }
            w.push_str(" |");
        }
        w.push('\n');
    };
    row(w, &mut header.iter().copied());
    if padded {
        let rules: Vec<String> = widths.iter().map(|n| "-".repeat(*n)).collect();
        row(w, &mut rules.iter().map(String::as_str));
    } else {
        w.push('|');
        for _ in header {
            w.push_str("---|");
        }
        w.push('\n');
    }
    for r in &rows {
        row(w, &mut r.iter().map(String::as_str));
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

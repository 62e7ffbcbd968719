//! Diagnostics: one problem in one input file, printed as `file:line:col: message`.
//!
//! Owns: the single error shape that `gslb check`, startup and reload report for configuration
//! and zone files alike. Must not: decide what is an error (the loaders do).

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in an input file. Line and column count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Line, from 1 (0 when the problem concerns the file as a whole).
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
    /// What is wrong and, where useful, what was expected.
    pub message: String,
}

impl Diagnostic {
    /// A problem at a line and column.
    pub fn new(file: &Path, line: usize, col: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line,
            col,
            message: message.into(),
        }
    }

    /// A problem located by a byte offset into the file's text.
    pub fn at_offset(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = line_col(text, offset);
        Self::new(file, line, col, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line.max(1),
            self.col.max(1),
            self.message
        )
    }
}

/// Line and column (from 1, column in characters) of a byte offset. Scans the text from its
/// start: for many positions in one text, build a `LineIndex` once instead.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where each line of a text starts, found once, so that every position asked after costs a
/// binary search and a walk along one line (not a scan from the start of the file).
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the first character of each line; `starts[0]` is 0.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the lines of `text`.
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        LineIndex { text, starts }
    }

    /// Line and column (from 1, column in characters) of a byte offset, as `line_col` gives.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.text.floor_char_boundary(offset.min(self.text.len()));
        // The last line starting at or before `offset`; `starts[0] == 0` makes it exist.
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts[line];
        let col = self.text[start..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// A problem in `file` (whose text this indexes) at a byte offset.
    pub fn diagnostic(&self, file: &Path, offset: usize, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.line_col(offset);
        Diagnostic::new(file, line, col, message)
    }
}

/// A list of diagnostics that is itself an error (for `?` at the binary's edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let t = "ab\ncd\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 4), (2, 2));
        assert_eq!(line_col(t, 100), (3, 1));
        let d = Diagnostic::at_offset(Path::new("f.toml"), t, 3, "bad");
        assert_eq!(d.to_string(), "f.toml:2:1: bad");
    }

    #[test]
    fn the_line_index_agrees_with_scanning_at_every_offset() {
        // Empty lines, a line without a newline at the end, multi-byte characters (columns
        // count characters; an offset inside one counts from its start), a carriage return.
        for t in ["", "\n", "ab\ncd\n", "a\n\n\nb", "é€x\nñ\r\n😀z", "x\n\n"] {
            let index = LineIndex::new(t);
            for offset in 0..=t.len() + 2 {
                assert_eq!(
                    index.line_col(offset),
                    line_col(t, offset),
                    "{t:?} at {offset}"
                );
            }
        }
        let index = LineIndex::new("a = 1\nbb = 2\n");
        assert_eq!(index.line_col(8), (2, 3));
        let d = index.diagnostic(Path::new("f.toml"), 11, "bad");
        assert_eq!(d.to_string(), "f.toml:2:6: bad");
    }
}

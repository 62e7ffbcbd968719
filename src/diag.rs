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

/// Line and column (from 1, column in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
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
}

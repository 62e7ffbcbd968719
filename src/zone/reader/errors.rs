//! The errors of one zone, collected over all its files in one run: each at `file:line:col`,
//! up to a cap, then one line saying how many more there were.
//!
//! Owns: the cap and the summary line. Must not: decide what is an error.

use std::path::Path;

use crate::diag::Diagnostic;

/// Most errors reported for one zone; past it they are counted, not listed.
pub const MAX_ERRORS: usize = 100;

/// The errors found so far.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    list: Vec<Diagnostic>,
    more: usize,
}

impl Errors {
    /// Records an error at `line`:`col` of `file`.
    pub(crate) fn push(&mut self, file: &Path, line: u32, col: u32, message: impl Into<String>) {
        if self.list.len() < MAX_ERRORS {
            self.list
                .push(Diagnostic::new(file, line as usize, col as usize, message));
        } else {
            self.more += 1;
        }
    }

    /// Drops every error (when one explains them all).
    pub(crate) fn clear(&mut self) {
        self.list.clear();
        self.more = 0;
    }

    /// The errors, in the order found, with the summary line when some were left out (at the
    /// place of the last one listed).
    pub(crate) fn into_vec(self) -> Vec<Diagnostic> {
        let mut list = self.list;
        if self.more > 0
            && let Some(last) = list.last()
        {
            let summary = Diagnostic::new(
                &last.file.clone(),
                last.line,
                last.col,
                format!("… and {} more errors", self.more),
            );
            list.push(summary);
        }
        list
    }
}

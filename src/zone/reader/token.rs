//! Splitting a zone file's bytes into entries (RFC 1035 §5.1): one entry is one logical line,
//! which parentheses may continue over several physical lines; `;` starts a comment to the end
//! of the line; a quoted string is one token whatever it holds; `\` escapes the next byte.
//!
//! Owns: where each token starts and ends, its line and column, and the two errors that are the
//! tokenizer's own (an unbalanced parenthesis, an unterminated quoted string). Must not: give
//! tokens a meaning (names, numbers, escapes' values are `text`'s) or allocate per token.

/// One token: a byte range of the text (for a quoted string, what is between the quotes), and
/// where it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    /// First byte of the token's content.
    pub(crate) start: u32,
    /// One past its last byte.
    pub(crate) end: u32,
    /// Line, from 1.
    pub(crate) line: u32,
    /// Column of the token (of its opening quote, when quoted), from 1, in characters.
    pub(crate) col: u32,
    /// Whether it was written in double quotes.
    pub(crate) quoted: bool,
}

impl Tok {
    /// The token's bytes in `text`, escapes as written.
    pub(crate) fn bytes<'a>(&self, text: &'a [u8]) -> &'a [u8] {
        &text[self.start as usize..self.end as usize]
    }
}

/// A problem the tokenizer found: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    /// Line, from 1.
    pub(crate) line: u32,
    /// Column, from 1.
    pub(crate) col: u32,
    /// What is wrong.
    pub(crate) message: String,
}

/// One entry read by `Lexer::next_entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryStart {
    /// Whether the entry's first line starts with a blank (RFC 1035 §5.1: no owner of its own).
    pub(crate) blank_start: bool,
    /// The entry's first physical line.
    pub(crate) line: u32,
}

/// Reads entries from one file's bytes.
pub(crate) struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
    /// Whether a byte above 127 was seen on the current line (columns then count characters).
    wide: bool,
}

fn is_delimiter(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"')
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `text`.
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Lexer {
            text,
            pos: 0,
            line: 1,
            line_start: 0,
            wide: false,
        }
    }

    /// The column of byte `at` (on the current line).
    fn col(&self, at: usize) -> u32 {
        let before = &self.text[self.line_start..at];
        let n = if self.wide {
            // Continuation bytes of UTF-8 do not start a character.
            before.iter().filter(|&&b| b & 0xC0 != 0x80).count()
        } else {
            before.len()
        };
        n as u32 + 1
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
        self.wide = false;
    }

    /// Reads the next entry that holds a token into `toks` (cleared first). None at the end of
    /// the text; `Err` when the entry is malformed (its tokens are then not to be used: the
    /// reader goes on at the next entry).
    pub(crate) fn next_entry(
        &mut self,
        toks: &mut Vec<Tok>,
    ) -> Option<Result<EntryStart, LexError>> {
        loop {
            toks.clear();
            if self.pos >= self.text.len() {
                return None;
            }
            let start = EntryStart {
                blank_start: matches!(self.text[self.pos], b' ' | b'\t'),
                line: self.line,
            };
            let mut depth = 0u32;
            let mut open: Option<(u32, u32)> = None;
            let mut error: Option<LexError> = None;
            let text = self.text;
            loop {
                let Some(&c) = text.get(self.pos) else {
                    if let (Some((line, col)), None) = (open, &error) {
                        error = Some(LexError {
                            line,
                            col,
                            message: "unbalanced parenthesis: this ( is never closed".into(),
                        });
                    }
                    break;
                };
                match c {
                    b'\n' => {
                        self.newline();
                        if depth == 0 {
                            break;
                        }
                    }
                    b' ' | b'\t' | b'\r' => self.pos += 1,
                    b';' => {
                        while self.pos < text.len() && text[self.pos] != b'\n' {
                            self.wide |= text[self.pos] >= 0x80;
                            self.pos += 1;
                        }
                    }
                    b'(' => {
                        if depth > 0 && error.is_none() {
                            error = Some(LexError {
                                line: self.line,
                                col: self.col(self.pos),
                                message: "unbalanced parenthesis: ( inside parentheses".into(),
                            });
                        }
                        depth += 1;
                        open = Some((self.line, self.col(self.pos)));
                        self.pos += 1;
                    }
                    b')' => {
                        if depth == 0 {
                            if error.is_none() {
                                error = Some(LexError {
                                    line: self.line,
                                    col: self.col(self.pos),
                                    message: "unbalanced parenthesis: ) without (".into(),
                                });
                            }
                        } else {
                            depth -= 1;
                            if depth == 0 {
                                open = None;
                            }
                        }
                        self.pos += 1;
                    }
                    b'"' => {
                        let (line, col) = (self.line, self.col(self.pos));
                        self.pos += 1;
                        let content = self.pos;
                        let mut closed = false;
                        while let Some(&b) = text.get(self.pos) {
                            match b {
                                b'\\' if text.get(self.pos + 1).is_some_and(|&n| n != b'\n') => {
                                    self.pos += 2;
                                }
                                b'"' => {
                                    closed = true;
                                    break;
                                }
                                b'\n' => break,
                                _ => {
                                    self.wide |= b >= 0x80;
                                    self.pos += 1;
                                }
                            }
                        }
                        if closed {
                            toks.push(Tok {
                                start: content as u32,
                                end: self.pos as u32,
                                line,
                                col,
                                quoted: true,
                            });
                            self.pos += 1;
                        } else {
                            if error.is_none() {
                                error = Some(LexError {
                                    line,
                                    col,
                                    message: "unterminated quoted string".into(),
                                });
                            }
                            // The entry ends with this line whatever parentheses are open.
                            depth = 0;
                            open = None;
                        }
                    }
                    _ => {
                        let begin = self.pos;
                        let col = self.col(begin);
                        while let Some(&b) = text.get(self.pos) {
                            if b == b'\\' {
                                if text.get(self.pos + 1).is_some_and(|&n| n != b'\n') {
                                    self.pos += 2;
                                } else {
                                    self.pos += 1;
                                }
                                continue;
                            }
                            if is_delimiter(b) {
                                break;
                            }
                            self.wide |= b >= 0x80;
                            self.pos += 1;
                        }
                        toks.push(Tok {
                            start: begin as u32,
                            end: self.pos as u32,
                            line: self.line,
                            col,
                            quoted: false,
                        });
                    }
                }
            }
            if let Some(e) = error {
                return Some(Err(e));
            }
            if !toks.is_empty() {
                return Some(Ok(start));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token as `(text, line, col, quoted)`.
    type Shown = (String, u32, u32, bool);
    /// An entry as `(blank start, line, tokens)`, or its error.
    type Entry = Result<(bool, u32, Vec<Shown>), LexError>;

    fn entries(text: &str) -> Vec<Entry> {
        let mut lx = Lexer::new(text.as_bytes());
        let mut toks = Vec::new();
        let mut out = Vec::new();
        while let Some(e) = lx.next_entry(&mut toks) {
            out.push(e.map(|s| {
                let t = toks
                    .iter()
                    .map(|t| {
                        let s = String::from_utf8(t.bytes(text.as_bytes()).to_vec()).unwrap();
                        (s, t.line, t.col, t.quoted)
                    })
                    .collect();
                (s.blank_start, s.line, t)
            }));
        }
        out
    }

    fn tok(s: &str, line: u32, col: u32) -> Shown {
        (s.into(), line, col, false)
    }

    #[test]
    fn parentheses_continue_an_entry_over_lines_and_comments_end_lines() {
        let e = entries("@ SOA ns h ( 1 ; serial\n  2 3 )\n\n; only a comment\n  A 192.0.2.1\n");
        assert_eq!(e.len(), 2, "{e:?}");
        let (blank, line, toks) = e[0].clone().unwrap();
        assert!(!blank);
        assert_eq!(line, 1);
        let words: Vec<&str> = toks.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(words, ["@", "SOA", "ns", "h", "1", "2", "3"]);
        assert_eq!(toks[5], tok("2", 2, 3));
        let (blank, line, toks) = e[1].clone().unwrap();
        assert!(blank);
        assert_eq!((line, toks[0].clone()), (5, tok("A", 5, 3)));
    }

    #[test]
    fn quoted_strings_are_one_token_and_escapes_do_not_end_tokens() {
        let e = entries("t TXT \"a b;c \\\" d\" x\\ y\\;z\n");
        let (_, _, toks) = e[0].clone().unwrap();
        assert_eq!(toks[2], ("a b;c \\\" d".into(), 1, 7, true));
        assert_eq!(toks[3], tok("x\\ y\\;z", 1, 20));
    }

    #[test]
    fn columns_count_characters() {
        let e = entries("t TXT \"é\" x\n");
        let (_, _, toks) = e[0].clone().unwrap();
        assert_eq!(toks[3].2, 11);
    }

    #[test]
    fn unbalanced_parentheses_and_quotes_are_errors_where_they_start() {
        let e = entries("ok A 192.0.2.1\nbad A ( 192.0.2.1\nmore A 192.0.2.2\n");
        assert_eq!(e.len(), 2);
        let err = e[1].clone().unwrap_err();
        assert_eq!((err.line, err.col), (2, 7));
        assert!(err.message.starts_with("unbalanced parenthesis"), "{err:?}");
        let e = entries("bad A 192.0.2.1 )\nok A 192.0.2.2\n");
        let err = e[0].clone().unwrap_err();
        assert_eq!((err.line, err.col), (1, 17));
        assert!(e[1].is_ok());
        // An unterminated string ends its entry at the end of its line, parentheses or not.
        let e = entries("t TXT ( \"abc\nok A 192.0.2.2\n");
        let err = e[0].clone().unwrap_err();
        assert_eq!(
            (err.line, err.col, err.message.as_str()),
            (1, 9, "unterminated quoted string")
        );
        assert_eq!(e[1].clone().unwrap().2[0], tok("ok", 2, 1));
    }

    #[test]
    fn the_last_line_needs_no_newline() {
        let e = entries("a A 1.2.3.4");
        assert_eq!(e[0].clone().unwrap().2.len(), 3);
        assert!(entries("").is_empty());
        assert!(entries("  \n; x\n\n").is_empty());
    }
}

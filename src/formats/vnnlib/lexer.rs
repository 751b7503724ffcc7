//! The s-expressions both VNN-LIB versions are written in. An atom runs to the next blank or
//! parenthesis, except that a `[...]` (a 2.0 shape or index, which may hold blanks) and a
//! `"..."` (a 2.0 ONNX name) belong to the atom they start in.

use super::ParseError;

/// Deeper nesting than this is refused (the interpreters recurse over the tree).
const MAX_DEPTH: usize = 256;

/// One parsed s-expression with the place it starts.
#[derive(Clone, Debug)]
pub(super) enum Expr {
    Atom {
        text: String,
        line: usize,
        column: usize,
    },
    List {
        items: Vec<Expr>,
        line: usize,
        column: usize,
    },
}

impl Expr {
    pub(super) fn position(&self) -> (usize, usize) {
        match self {
            Expr::Atom { line, column, .. } | Expr::List { line, column, .. } => (*line, *column),
        }
    }

    /// The atom's text, if this is an atom.
    pub(super) fn atom(&self) -> Option<&str> {
        match self {
            Expr::Atom { text, .. } => Some(text),
            Expr::List { .. } => None,
        }
    }

    /// The list's head atom and its arguments, if this is a list starting with an atom.
    pub(super) fn head(&self) -> Option<(&str, &[Expr])> {
        match self {
            Expr::List { items, .. } => match items.split_first() {
                Some((Expr::Atom { text, .. }, rest)) => Some((text, rest)),
                _ => None,
            },
            Expr::Atom { .. } => None,
        }
    }
}

/// Parses every top-level expression of `text`.
pub(super) fn parse(file: &str, text: &str) -> Result<Vec<Expr>, ParseError> {
    Lexer {
        file,
        chars: text.chars().peekable(),
        line: 1,
        column: 1,
    }
    .parse_all()
}

struct Lexer<'a> {
    file: &'a str,
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_blank(&mut self) {
        while let Some(&c) = self.chars.peek() {
            if c == ';' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// Reads an atom; `[...]` and `"..."` inside it are read whole, blanks and all.
    fn atom(&mut self, line: usize, column: usize) -> Result<String, ParseError> {
        let mut text = String::new();
        while let Some(&c) = self.chars.peek() {
            match c {
                '[' => {
                    while let Some(c) = self.bump() {
                        if !c.is_whitespace() {
                            text.push(c);
                        }
                        if c == ']' {
                            break;
                        }
                    }
                    if !text.ends_with(']') {
                        return Err(ParseError::at(
                            self.file,
                            line,
                            column,
                            "file ends inside '[': expected ']'",
                        ));
                    }
                }
                '"' => {
                    text.push(self.bump().expect("peeked"));
                    let mut escaped = false;
                    loop {
                        let Some(c) = self.bump() else {
                            return Err(ParseError::at(
                                self.file,
                                line,
                                column,
                                "file ends inside a quoted name: expected '\"'",
                            ));
                        };
                        text.push(c);
                        if c == '"' && !escaped {
                            break;
                        }
                        escaped = c == '\\' && !escaped;
                    }
                }
                c if c.is_whitespace() || c == '(' || c == ')' || c == ';' => break,
                _ => text.push(self.bump().expect("peeked")),
            }
        }
        Ok(text)
    }

    /// Parses every top-level expression. Nesting depth is bounded by an explicit stack,
    /// so deeply nested input cannot overflow the call stack.
    fn parse_all(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut stack: Vec<(Vec<Expr>, usize, usize)> = vec![(Vec::new(), 0, 0)];
        loop {
            self.skip_blank();
            let (line, column) = (self.line, self.column);
            match self.chars.peek().copied() {
                None => {
                    if stack.len() > 1 {
                        let (_, l, c) = stack.pop().expect("non-empty");
                        return Err(ParseError::at(
                            self.file,
                            self.line,
                            self.column,
                            format!("file ends inside the list opened at {l}:{c}: expected ')'"),
                        ));
                    }
                    return Ok(stack.pop().expect("top level").0);
                }
                Some('(') => {
                    self.bump();
                    if stack.len() > MAX_DEPTH {
                        return Err(ParseError::at(
                            self.file,
                            line,
                            column,
                            format!("lists nested deeper than {MAX_DEPTH} levels"),
                        ));
                    }
                    stack.push((Vec::new(), line, column));
                }
                Some(')') => {
                    self.bump();
                    if stack.len() == 1 {
                        return Err(ParseError::at(self.file, line, column, "unexpected ')'"));
                    }
                    let (items, l, c) = stack.pop().expect("non-empty");
                    stack.last_mut().expect("parent").0.push(Expr::List {
                        items,
                        line: l,
                        column: c,
                    });
                }
                Some(_) => {
                    let text = self.atom(line, column)?;
                    stack
                        .last_mut()
                        .expect("level")
                        .0
                        .push(Expr::Atom { text, line, column });
                }
            }
        }
    }
}

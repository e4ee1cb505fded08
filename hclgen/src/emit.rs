//! The HCL emitter: writes a [`Body`] exactly as `terraform fmt` would.
//!
//! hcl-rs supplies the syntax tree ([`hcl::Expression`]) and string escaping;
//! it does not lay code out the way `terraform fmt` (hclwrite) does, so the
//! layout lives here. Emission happens in two passes, mirroring hclwrite's
//! `format()`:
//!
//! 1. **Tokens to lines.** Every construct is written with hclwrite's spacing
//!    between tokens: one space around `=`, `?`, `:`, `=>` and binary
//!    operators, after commas and inside braces (`{ a = 1 }`), none inside
//!    brackets and parentheses (`[1, 2]`, `f(x)`), none around `.` and
//!    before `[` after a name (`var.x["a"]`), `{}` when empty. Each line
//!    records its net bracket change (`{ [ (` +1, `} ] )` -1; a quoted
//!    string counts 0 because its `${`/`}` pair balances on the line) and
//!    where its first `=` is.
//! 2. **Indent and align** (hclwrite `formatIndent` and `formatCells`):
//!    - A line with a net positive bracket change is indented at the current
//!      level and then pushes one level, remembering how many brackets it
//!      opened (`optional(list(object({` opens four but indents once). A line
//!      with a net negative change pops levels until that many brackets are
//!      closed, then is indented at the resulting level (`})), [])`). Other
//!      lines take the current level. Blank lines get no indentation.
//!    - A line has an *assignment cell* when its first `=` is not the first
//!      token and the tokens from that `=` to the end of the line balance
//!      their brackets (so `a = { b = 1 }` has one, `a = {` and `}, {` do
//!      not). Consecutive lines with an assignment cell form a chain,
//!      whatever their nesting; any other line (blank, comment, `a = {`,
//!      `}`) ends it. In a chain every `=` is placed one column after the
//!      longest text before an `=` (indentation included), counted in
//!      Unicode scalar values.
//!
//! Comments are only ever whole lines here (hclgen never writes trailing
//! comments, which hclwrite aligns in a chain of their own), and heredocs are
//! refused, so the rules above are complete for what the emitter accepts.
//! `tests/fmt.rs` holds all of this against the real `terraform fmt`.

use std::fmt::Write as _;

use hcl::expr::{BinaryOperator, ForExpr, TraversalOperator, UnaryOperator};
use hcl::{Expression, ObjectKey};

/// Arrays whose one-line form is longer than this are written one element
/// per line (terraform fmt keeps either; this keeps lines short).
const INLINE_ARRAY_MAX: usize = 80;

/// A sequence of attributes, blocks, comments and blank lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Body {
    items: Vec<Item>,
}

/// One element of a [`Body`].
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `key = value`.
    Attr(String, Expression),
    /// `ident "label" { ... }`.
    Block(Block),
    /// A whole-line `#` comment (one item per line of text).
    Comment(String),
    /// An empty line.
    Blank,
}

/// A block: identifier, labels and body.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    ident: String,
    labels: Vec<String>,
    body: Body,
}

impl Block {
    /// A block with the given identifier and labels.
    pub fn new(ident: &str, labels: &[&str], body: Body) -> Block {
        Block { ident: ident.to_owned(), labels: labels.iter().map(|l| (*l).to_owned()).collect(), body }
    }
}

impl Body {
    /// An empty body.
    pub fn new() -> Body {
        Body::default()
    }

    /// Appends `key = value`.
    pub fn attr(&mut self, key: &str, value: impl Into<Expression>) -> &mut Body {
        self.items.push(Item::Attr(key.to_owned(), value.into()));
        self
    }

    /// Appends a block.
    pub fn block(&mut self, block: Block) -> &mut Body {
        self.items.push(Item::Block(block));
        self
    }

    /// Appends `# text`, one comment line per line of `text`.
    pub fn comment(&mut self, text: &str) -> &mut Body {
        for line in text.lines() {
            self.items.push(Item::Comment(line.to_owned()));
        }
        self
    }

    /// Appends an empty line.
    pub fn blank(&mut self) -> &mut Body {
        self.items.push(Item::Blank);
        self
    }

    /// True if the body has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What the emitter cannot write.
#[derive(Debug, Clone, PartialEq)]
pub struct EmitError(pub String);

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes `body` as terraform fmt would, each line ending in `\n`.
pub fn render(body: &Body) -> Result<String, EmitError> {
    let mut w = Writer::default();
    w.body(body)?;
    Ok(w.finish())
}

/// Writes one expression on one line (objects as `{ a = 1 }`), for
/// documentation tables. Not meant to be fed to terraform fmt.
pub fn inline(expr: &Expression) -> Result<String, EmitError> {
    let mut w = Writer::default();
    w.expr(expr, true)?;
    if !w.lines.is_empty() {
        return Err(EmitError("expression does not fit on one line".to_owned()));
    }
    Ok(w.cur.text)
}

/// Writes one expression as it would appear after `x = ` at the top level,
/// multi-line where the emitter's layout says so (for README code blocks).
pub fn expression(expr: &Expression) -> Result<String, EmitError> {
    let mut body = Body::new();
    body.attr("x", expr.clone());
    let text = render(&body)?;
    Ok(text.strip_prefix("x = ").unwrap_or(&text).trim_end().to_owned())
}

/// True if `s` can be written as a bare identifier key that reads as the
/// string `s`: letters, digits and `_` (hclgen quotes anything with a `-`,
/// although HCL would accept it, so that map keys read as data) and not a
/// keyword that would change the meaning of an object constructor.
pub fn is_plain_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(s, "for" | "in" | "if" | "true" | "false" | "null")
}

/// Quotes and escapes `s` as an HCL string literal (`${` becomes `$${`).
pub fn quote(s: &str) -> String {
    hcl::format::to_string(&Expression::String(s.to_owned())).unwrap_or_else(|_| format!("{s:?}"))
}

#[derive(Default, Debug)]
struct Line {
    text: String,
    /// Net bracket change of the whole line.
    delta: i32,
    /// Byte offset of the line's first `=` and the bracket change before it.
    first_eq: Option<(usize, i32)>,
}

#[derive(Default)]
struct Writer {
    lines: Vec<Line>,
    cur: Line,
}

impl Writer {
    fn tok(&mut self, s: &str) {
        self.cur.text.push_str(s);
    }

    fn open(&mut self, s: &str) {
        self.cur.text.push_str(s);
        self.cur.delta += 1;
    }

    fn close(&mut self, s: &str) {
        self.cur.text.push_str(s);
        self.cur.delta -= 1;
    }

    /// ` = `, remembering the position if it is the line's first `=`.
    fn eq(&mut self) {
        self.cur.text.push(' ');
        if self.cur.first_eq.is_none() && !self.cur.text.trim().is_empty() {
            self.cur.first_eq = Some((self.cur.text.len(), self.cur.delta));
        }
        self.cur.text.push_str("= ");
    }

    fn nl(&mut self) {
        let line = std::mem::take(&mut self.cur);
        self.lines.push(line);
    }

    fn body(&mut self, body: &Body) -> Result<(), EmitError> {
        for item in &body.items {
            match item {
                Item::Attr(k, v) => {
                    self.key_text(k);
                    self.eq();
                    self.expr(v, false)?;
                    self.nl();
                }
                Item::Block(b) => {
                    self.tok(&b.ident);
                    for l in &b.labels {
                        self.tok(" ");
                        self.tok(&quote(l));
                    }
                    if b.body.is_empty() {
                        self.tok(" {}");
                    } else {
                        self.tok(" ");
                        self.open("{");
                        self.nl();
                        self.body(&b.body)?;
                        self.close("}");
                    }
                    self.nl();
                }
                Item::Comment(c) => {
                    if c.is_empty() {
                        self.tok("#");
                    } else {
                        self.tok("# ");
                        self.tok(c.trim_end());
                    }
                    self.nl();
                }
                Item::Blank => self.nl(),
            }
        }
        Ok(())
    }

    fn key_text(&mut self, k: &str) {
        if is_plain_identifier(k) || is_hcl_identifier(k) {
            self.tok(k);
        } else {
            self.tok(&quote(k));
        }
    }

    fn object_key(&mut self, k: &ObjectKey) -> Result<(), EmitError> {
        match k {
            ObjectKey::Identifier(id) => {
                if is_hcl_identifier(id.as_str()) {
                    self.tok(id.as_str());
                } else {
                    self.tok(&quote(id.as_str()));
                }
                Ok(())
            }
            ObjectKey::Expression(Expression::String(s)) => {
                self.tok(&quote(s));
                Ok(())
            }
            ObjectKey::Expression(e) => self.expr(e, true),
            other => Err(EmitError(format!("unsupported object key {other:?}"))),
        }
    }

    /// Writes `e`; `inline` forces one line (objects as `{ a = 1 }`).
    fn expr(&mut self, e: &Expression, inline: bool) -> Result<(), EmitError> {
        match e {
            Expression::Null => self.tok("null"),
            Expression::Bool(b) => self.tok(if *b { "true" } else { "false" }),
            Expression::Number(n) => self.tok(&n.to_string()),
            Expression::String(s) => self.tok(&quote(s)),
            Expression::Variable(v) => self.tok(v.as_str()),
            Expression::TemplateExpr(t) => match &**t {
                hcl::TemplateExpr::QuotedString(_) => {
                    let s = hcl::format::to_string(e).map_err(|err| EmitError(err.to_string()))?;
                    self.tok(&s);
                }
                hcl::TemplateExpr::Heredoc(_) => return Err(EmitError("heredocs are not supported".to_owned())),
            },
            Expression::Array(items) => {
                if items.is_empty() {
                    self.tok("[]");
                } else if inline || !array_needs_lines(items)? {
                    self.open("[");
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.tok(", ");
                        }
                        self.expr(item, true)?;
                    }
                    self.close("]");
                } else {
                    self.open("[");
                    self.nl();
                    for item in items {
                        self.expr(item, false)?;
                        self.tok(",");
                        self.nl();
                    }
                    self.close("]");
                }
            }
            Expression::Object(obj) => {
                if obj.is_empty() {
                    self.tok("{}");
                } else if inline {
                    self.open("{");
                    for (i, (k, v)) in obj.iter().enumerate() {
                        self.tok(if i == 0 { " " } else { ", " });
                        self.object_key(k)?;
                        self.eq();
                        self.expr(v, true)?;
                    }
                    self.tok(" ");
                    self.close("}");
                } else {
                    self.open("{");
                    self.nl();
                    for (k, v) in obj {
                        self.object_key(k)?;
                        self.eq();
                        self.expr(v, false)?;
                        self.nl();
                    }
                    self.close("}");
                }
            }
            Expression::FuncCall(f) => {
                for ns in &f.name.namespace {
                    self.tok(ns.as_str());
                    self.tok("::");
                }
                self.tok(f.name.name.as_str());
                self.open("(");
                for (i, arg) in f.args.iter().enumerate() {
                    if i > 0 {
                        self.tok(", ");
                    }
                    self.expr(arg, inline)?;
                }
                if f.expand_final {
                    self.tok("...");
                }
                self.close(")");
            }
            Expression::Parenthesis(inner) => {
                self.open("(");
                self.expr(inner, inline)?;
                self.close(")");
            }
            Expression::Traversal(t) => {
                self.expr(&t.expr, true)?;
                for op in &t.operators {
                    match op {
                        TraversalOperator::AttrSplat => self.tok(".*"),
                        TraversalOperator::FullSplat => {
                            self.open("[");
                            self.tok("*");
                            self.close("]");
                        }
                        TraversalOperator::GetAttr(id) => {
                            self.tok(".");
                            self.tok(id.as_str());
                        }
                        TraversalOperator::Index(ix) => {
                            self.open("[");
                            self.expr(ix, true)?;
                            self.close("]");
                        }
                        TraversalOperator::LegacyIndex(n) => {
                            self.tok(".");
                            self.tok(&n.to_string());
                        }
                    }
                }
            }
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr, true)?;
                self.tok(" ? ");
                self.expr(&c.true_expr, true)?;
                self.tok(" : ");
                self.expr(&c.false_expr, true)?;
            }
            Expression::Operation(op) => match &**op {
                hcl::Operation::Unary(u) => {
                    self.tok(match u.operator {
                        UnaryOperator::Neg => "-",
                        UnaryOperator::Not => "!",
                    });
                    self.expr(&u.expr, true)?;
                }
                hcl::Operation::Binary(b) => {
                    self.expr(&b.lhs_expr, true)?;
                    let _ = write!(self.cur.text, " {} ", binary_op(b.operator));
                    self.expr(&b.rhs_expr, true)?;
                }
            },
            Expression::ForExpr(f) => self.for_expr(f)?,
            other => return Err(EmitError(format!("unsupported expression {other:?}"))),
        }
        Ok(())
    }

    fn for_expr(&mut self, f: &ForExpr) -> Result<(), EmitError> {
        let object = f.key_expr.is_some();
        if object {
            self.open("{");
            self.tok(" ");
        } else {
            self.open("[");
        }
        self.tok("for ");
        if let Some(k) = &f.key_var {
            self.tok(k.as_str());
            self.tok(", ");
        }
        self.tok(f.value_var.as_str());
        self.tok(" in ");
        self.expr(&f.collection_expr, true)?;
        self.tok(" : ");
        if let Some(k) = &f.key_expr {
            self.expr(k, true)?;
            self.tok(" => ");
        }
        self.expr(&f.value_expr, true)?;
        if f.grouping {
            self.tok("...");
        }
        if let Some(c) = &f.cond_expr {
            self.tok(" if ");
            self.expr(c, true)?;
        }
        if object {
            self.tok(" ");
            self.close("}");
        } else {
            self.close("]");
        }
        Ok(())
    }

    /// Pass 2: indentation and alignment (see the module documentation).
    fn finish(mut self) -> String {
        if !self.cur.text.is_empty() {
            self.nl();
        }
        struct Laid {
            indent: usize,
            lead: String,
            assign: Option<String>,
        }
        let mut laid = Vec::with_capacity(self.lines.len());
        let mut indents: Vec<i32> = Vec::new();
        for line in self.lines {
            let indent = if line.delta > 0 {
                let at = indents.len();
                indents.push(line.delta);
                at
            } else if line.delta < 0 {
                let mut closed = -line.delta;
                while closed > 0 {
                    let Some(top) = indents.last_mut() else { break };
                    if closed >= *top {
                        closed -= *top;
                        indents.pop();
                    } else {
                        *top -= closed;
                        closed = 0;
                    }
                }
                indents.len()
            } else {
                indents.len()
            };
            let (lead, assign) = match line.first_eq {
                Some((at, before)) if line.delta == before => (line.text[..at].trim_end().to_owned(), Some(line.text[at..].to_owned())),
                _ => (line.text, None),
            };
            laid.push(Laid { indent: if lead.is_empty() && assign.is_none() { 0 } else { indent * 2 }, lead, assign });
        }
        let mut out = String::new();
        let mut i = 0;
        while i < laid.len() {
            if laid[i].assign.is_none() {
                let l = &laid[i];
                out.extend(std::iter::repeat_n(' ', l.indent));
                out.push_str(&l.lead);
                out.push('\n');
                i += 1;
                continue;
            }
            let end = (i..laid.len()).find(|&j| laid[j].assign.is_none()).unwrap_or(laid.len());
            let width = laid[i..end].iter().map(|l| l.indent + l.lead.chars().count()).max().unwrap_or(0);
            for l in &laid[i..end] {
                let columns = l.indent + l.lead.chars().count();
                out.extend(std::iter::repeat_n(' ', l.indent));
                out.push_str(&l.lead);
                out.extend(std::iter::repeat_n(' ', width - columns + 1));
                out.push_str(l.assign.as_deref().unwrap_or_default());
                out.push('\n');
            }
            i = end;
        }
        out
    }
}

/// HCL's identifier syntax (letters, digits, `_`, `-`; not starting with a
/// digit or `-`), for keys that came from parsed HCL as identifiers.
fn is_hcl_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(s, "for" | "in" | "if" | "true" | "false" | "null")
}

fn array_needs_lines(items: &[Expression]) -> Result<bool, EmitError> {
    let mut w = Writer::default();
    for item in items {
        if needs_lines(item)? {
            return Ok(true);
        }
        w.expr(item, true)?;
        w.tok(", ");
    }
    Ok(w.cur.text.len() > INLINE_ARRAY_MAX)
}

/// True if the emitter writes `e` over several lines.
fn needs_lines(e: &Expression) -> Result<bool, EmitError> {
    Ok(match e {
        Expression::Object(o) => !o.is_empty(),
        Expression::Array(a) => !a.is_empty() && array_needs_lines(a)?,
        Expression::FuncCall(f) => {
            let mut any = false;
            for a in &f.args {
                any |= needs_lines(a)?;
            }
            any
        }
        Expression::Parenthesis(inner) => needs_lines(inner)?,
        _ => false,
    })
}

fn binary_op(op: BinaryOperator) -> &'static str {
    use BinaryOperator::*;
    match op {
        Eq => "==",
        NotEq => "!=",
        LessEq => "<=",
        GreaterEq => ">=",
        Less => "<",
        Greater => ">",
        Plus => "+",
        Minus => "-",
        Mul => "*",
        Div => "/",
        Mod => "%",
        And => "&&",
        Or => "||",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_body(src: &str) -> Body {
        let parsed: hcl::Body = hcl::parse(src).unwrap();
        let mut body = Body::new();
        for s in parsed.into_iter() {
            match s {
                hcl::Structure::Attribute(a) => {
                    body.attr(a.key.as_str(), a.expr);
                }
                hcl::Structure::Block(_) => unreachable!("attributes only in these tests"),
            }
        }
        body
    }

    #[test]
    fn runs_of_attributes_align_their_equals() {
        let mut b = Body::new();
        b.attr("a", 1).attr("long_name", "x").blank().attr("c", true);
        assert_eq!(render(&b).unwrap(), "a         = 1\nlong_name = \"x\"\n\nc = true\n");
    }

    #[test]
    fn a_multi_line_value_breaks_the_chain() {
        let got = render(&parse_body("aa = 1\nb = { c = 1, dddd = 2 }\neeeeee = 3\n")).unwrap();
        assert_eq!(got, "aa = 1\nb = {\n  c    = 1\n  dddd = 2\n}\neeeeee = 3\n");
    }

    #[test]
    fn hugging_calls_indent_once_per_line() {
        let got = render(&parse_body("t = optional(list(object({ a = string, bb = number })), [])\n")).unwrap();
        assert_eq!(got, "t = optional(list(object({\n  a  = string\n  bb = number\n})), [])\n");
    }

    #[test]
    fn map_keys_are_quoted_unless_plain() {
        let got = inline(&hcl::expression!({ "cost-center" = "x", "owner" = "y" })).unwrap();
        assert_eq!(got, "{ \"cost-center\" = \"x\", \"owner\" = \"y\" }");
        assert!(is_plain_identifier("AzureFirewallSubnet"));
        assert!(!is_plain_identifier("aks-nodes"));
        assert!(!is_plain_identifier("null"));
    }

    #[test]
    fn templates_are_escaped() {
        assert_eq!(quote("a ${b} %{c} \"d\""), r#""a $${b} %%{c} \"d\"""#);
    }
}

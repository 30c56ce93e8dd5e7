//! Products as printed: the leading coefficient, factors juxtaposed or joined by `·`/`*`/
//! `\cdot` by the rules of the parent module, negative powers gathered into a denominator (a
//! LaTeX `\frac`, or `num/(den)` on the line when the denominator is too long for a fraction
//! bar), and the places between factors where a long line may break.

use super::*;

impl Pass<'_> {
    pub(super) fn kind(&self, id: Id) -> Kind {
        match self.graph.node(id) {
            Node::Num(_) => Kind::Num,
            Node::Var(s) => Kind::Var(*s),
            Node::Pow(b, _) if matches!(self.graph.node(*b), Node::Var(_)) => Kind::PowOfVar,
            Node::Call(..) | Node::Call2(..) => Kind::Call,
            _ => Kind::Other,
        }
    }

    /// A product node: the leading number is the coefficient; a nested product of non-numeric
    /// factors without a denominator is spliced in, any other stays a parenthesised factor.
    pub(super) fn mul(&self, fs: &[Id], simple: u8) -> Entry {
        let (lead, rest) = match self.graph.as_num(fs[0]) {
            Some(c) => (Some(c), &fs[1..]),
            None => (None, fs),
        };
        let mut num: Vec<Item> = Vec::with_capacity(rest.len());
        let mut den: Vec<Item> = Vec::new();
        for &f in rest {
            let entry = self.entry(f);
            if let Some(items) = &entry.factors {
                num.extend(items.iter().map(Item::borrowed));
            } else if let Some(item) = &entry.den {
                den.push(item.borrowed());
            } else {
                num.push(Item {
                    r: Cow::Borrowed(&entry.r),
                    kind: self.kind(f),
                });
            }
        }
        let spliceable = lead.is_none()
            && den.is_empty()
            && rest.iter().all(|&f| self.graph.as_num(f).is_none());
        let (r, negated) = match lead {
            Some(c) if c.is_negative() => {
                let coef = if c == Num::MINUS_ONE {
                    None
                } else {
                    Some(c.neg())
                };
                let negated = self.product(false, coef, &num, &den);
                (self.product(true, coef, &num, &den), Some(negated))
            }
            coef => (self.product(false, coef, &num, &den), None),
        };
        // Only a product another may splice in keeps copies of its factors.
        let factors = spliceable.then(|| num.into_iter().map(Item::into_owned).collect());
        Entry {
            r,
            negated,
            factors,
            den: None,
            simple,
            exponents: None,
        }
    }

    /// `sign coef num / den`. `coef`, if given, is not negative; `None` means none is written.
    pub(super) fn product(
        &self,
        negative: bool,
        coef: Option<Num>,
        num: &[Item],
        den: &[Item],
    ) -> R {
        let (num, den) = match coef {
            Some(c) => {
                let (mut num, mut den) = (num.to_vec(), den.to_vec());
                self.place_coefficient(c, &mut num, &mut den);
                (Cow::Owned(num), Cow::Owned(den))
            }
            None => (Cow::Borrowed(num), Cow::Borrowed(den)),
        };
        let sign = if negative { self.minus() } else { "" };
        let latex = self.notation == Notation::Latex;
        if den.is_empty() {
            return match &num[..] {
                [] => r(
                    format!("{sign}1"),
                    if negative { Prec::Neg } else { Prec::Atom },
                ),
                // A lone factor (what is left of `-x` or of a negative term) needs parentheses
                // only if it is a sum or itself starts with a minus: `-2*b`, `-(y - a3)`.
                [one] => {
                    let (body, breaks, wrapped) = self.wrap_with_breaks(&one.r, Prec::Product);
                    let prec = match () {
                        _ if negative => Prec::Neg,
                        _ if wrapped => Prec::Atom,
                        _ => one.r.prec,
                    };
                    let breaks = shifted(&breaks, sign.len());
                    R {
                        s: signed(sign, body),
                        prec,
                        breaks,
                    }
                }
                _ => {
                    let prec = if negative { Prec::Neg } else { Prec::Product };
                    let (body, breaks) = self.join_breakable(&num, Prec::Frac);
                    R {
                        s: signed(sign, body),
                        prec,
                        breaks: shifted(&breaks, sign.len()),
                    }
                }
            };
        }
        if latex {
            let part = |items: &[Item]| match items {
                [] => "1".to_string(),
                [one] => one.r.s.clone(),
                _ => self.join(items, Prec::Frac),
            };
            let numerator = part(&num);
            let denominator = part(&den);
            if denominator.len() > LONG_NUMERATOR {
                return self.long_quotient(sign, &num, &den);
            }
            // A long sum over a fraction bar cannot be broken across lines: as a textbook
            // writes λ/(2n)·(w² + …), it follows the fraction instead.
            let (sums, short): (Vec<Item>, Vec<Item>) = num
                .iter()
                .cloned()
                .partition(|item| item.r.prec == Prec::Sum || !item.r.breaks.is_empty());
            if numerator.len() > LONG_NUMERATOR && !sums.is_empty() {
                let fraction = Item::owned(
                    r(
                        format!("\\frac{{{}}}{{{denominator}}}", part(&short)),
                        Prec::Frac,
                    ),
                    Kind::Other,
                );
                let factors: Vec<Item> = std::iter::once(fraction).chain(sums).collect();
                let (body, breaks) = self.join_breakable(&factors, Prec::Frac);
                return R {
                    s: signed(sign, body),
                    prec: if negative { Prec::Neg } else { Prec::Product },
                    breaks: shifted(&breaks, sign.len()),
                };
            }
            let s = format!("{sign}\\frac{{{numerator}}}{{{denominator}}}");
            return r(s, if negative { Prec::Neg } else { Prec::Frac });
        }
        // The quotient is written after the numerator, in the numerator's own buffer.
        let mut quotient = if num.is_empty() {
            "1".to_string()
        } else {
            self.join(&num, Prec::Pow)
        };
        let denominator = match &den[..] {
            [one] => self.wrap(&one.r, Prec::Pow).0,
            _ => Cow::Owned(self.paren(&self.join(&den, Prec::Frac))),
        };
        // `delta/dx` would read as the derivative of `elta` with respect to `x`, and so would
        // `y^dx/dC`: the parser tries `dY/dX` wherever an operand starts.
        let d_after_d = ends_with_d_name(&quotient) && denominator.starts_with('d');
        quotient.push('/');
        if d_after_d {
            quotient.push_str(&self.paren(&denominator));
        } else {
            quotient.push_str(&denominator);
        }
        r(
            signed(sign, quotient),
            if negative { Prec::Neg } else { Prec::Product },
        )
    }

    /// A LaTeX quotient whose denominator is too long for a fraction bar (which cannot be
    /// broken across lines), written on the line: `num/(den)`, breakable inside both.
    fn long_quotient(&self, sign: &str, num: &[Item], den: &[Item]) -> R {
        let (top, mut breaks) = match num {
            [] => ("1".to_string(), Vec::new()),
            _ => self.join_breakable(num, Prec::Frac),
        };
        let (bottom, bottom_breaks) = self.join_breakable(den, Prec::Frac);
        let mut s = format!("{sign}{top}/(");
        breaks = shifted(&breaks, sign.len());
        breaks.extend(shifted(&bottom_breaks, s.len()));
        s.push_str(&bottom);
        s.push(')');
        R {
            s,
            prec: if sign.is_empty() {
                Prec::Product
            } else {
                Prec::Neg
            },
            breaks,
        }
    }

    /// Puts a leading coefficient in front of the numerator, or splits a fraction `p/q` into
    /// the numerator and the denominator.
    fn place_coefficient(&self, c: Num, num: &mut Vec<Item>, den: &mut Vec<Item>) {
        let item = |n: Num| Item::owned(self.num(n), Kind::Num);
        if let Num::Rat(p, q) = c
            && q != 1
        {
            let split = match self.notation {
                Notation::Latex => latex_fraction(p, q) && !den.is_empty(),
                _ => terminating_decimal(p, q).is_none() || is_small_fraction(q),
            };
            if split {
                if p != 1 {
                    num.insert(0, item(Num::int(p)));
                }
                den.insert(0, item(Num::int(q)));
                return;
            }
            if self.notation == Notation::Latex && latex_fraction(p, q) {
                num.insert(0, Item::owned(latex_num(c), Kind::Other));
                return;
            }
        }
        num.insert(0, item(c));
    }

    /// A denominator factor: `base`, or `base^k` for a numeric exponent `k` other than 1.
    pub(super) fn den_item(&self, base: Id, k: Num) -> Item<'static> {
        if k.is_one() {
            return Item::owned(self.got(base).clone(), self.kind(base));
        }
        let kind = match self.graph.node(base) {
            Node::Var(_) => Kind::PowOfVar,
            _ => Kind::Other,
        };
        Item::owned(self.pow(self.got(base), &self.num(k)), kind)
    }

    /// Factors written one after another, each parenthesised if it binds looser than `need`.
    pub(super) fn join(&self, items: &[Item], need: Prec) -> String {
        self.join_into(items, need, None)
    }

    /// [`Pass::join`], and the places between factors where a line may break.
    pub(super) fn join_breakable(&self, items: &[Item], need: Prec) -> (String, Vec<Break>) {
        let mut breaks = Vec::new();
        let out = self.join_into(items, need, Some(&mut breaks));
        (out, breaks)
    }

    /// [`Pass::join`], adding the places where a line may break to `breaks` if given.
    fn join_into(&self, items: &[Item], need: Prec, mut breaks: Option<&mut Vec<Break>>) -> String {
        // Room for the factors, a separator each and a pair of parentheses or two.
        let mut out = String::with_capacity(items.iter().map(|i| i.r.s.len() + 8).sum());
        let mut prev: Option<Placed> = None;
        for (i, item) in items.iter().enumerate() {
            let (s, inner, wrapped) = match breaks {
                Some(_) => self.wrap_with_breaks(&item.r, need),
                None => {
                    let (s, wrapped) = self.wrap(&item.r, need);
                    (s, Vec::new(), wrapped)
                }
            };
            let next = Placed {
                item,
                s,
                wrapped,
                first: i == 0,
            };
            if let Some(prev) = &prev {
                let separator = self.separator(prev, &next);
                // A coefficient stays with the factor it multiplies: never `−2` alone.
                let coefficient = prev.first && prev.item.kind == Kind::Num;
                if let Some(breaks) = breaks.as_deref_mut()
                    && !coefficient
                    && self.notation != Notation::Plain
                {
                    breaks.push(Break {
                        at: out.len(),
                        skip: separator.len() as u8,
                        // Juxtaposed factors (`a(1 − a)`) read as one: broken apart only
                        // where no other break fits.
                        depth: u8::from(separator.is_empty()),
                        kind: BreakKind::Product,
                    });
                }
                out.push_str(separator);
            }
            if let Some(breaks) = breaks.as_deref_mut() {
                breaks.extend(nested(&inner, out.len()));
            }
            out.push_str(&next.s);
            prev = Some(next);
        }
        out
    }

    /// What goes between two factors of a product.
    fn separator(&self, prev: &Placed, next: &Placed) -> &'static str {
        let prev_bare = !prev.wrapped && prev.item.r.prec == Prec::Atom;
        // Only a leading number (the coefficient) is juxtaposed: `2x`, `2(y - a3)`, not `x*2*y`.
        let coefficient = prev_bare && prev.first && prev.item.kind == Kind::Num;
        let name = prev_bare && matches!(prev.item.kind, Kind::Var(s) if !self.reads_as_call(s));
        let next_paren = next.s.starts_with('(');
        if next.item.kind == Kind::Num {
            // A number after another factor is always an explicit product: `x*2`, `x*(-2)`.
            return match self.notation {
                Notation::Plain => "*",
                Notation::Text => "·",
                Notation::Latex => " \\cdot ",
            };
        }
        match self.notation {
            Notation::Plain => {
                if next_paren && (coefficient || name) {
                    ""
                } else {
                    "*"
                }
            }
            Notation::Text => {
                let call = prev_bare && prev.item.kind == Kind::Call;
                let before_paren = next_paren && (coefficient || name || call || prev.wrapped);
                // `2x`, `2x^2`; but `2·e3`, which would read as the number 2000.
                let before_name = coefficient
                    && !next.wrapped
                    && matches!(next.item.kind, Kind::Var(_) | Kind::PowOfVar)
                    && !next.s.starts_with(['e', 'E']);
                if before_paren || before_name {
                    ""
                } else {
                    "·"
                }
            }
            Notation::Latex => {
                let after_digits = prev.first
                    && prev.item.kind == Kind::Num
                    && !prev.wrapped
                    && prev.s.ends_with(|c: char| c.is_ascii_digit());
                let call_like =
                    prev_bare && matches!(prev.item.kind, Kind::Var(s) if self.reads_as_call(s));
                let opens = next_paren || next.s.starts_with("\\left(");
                if next.s.starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    || (call_like && opens)
                {
                    // `f \cdot (h_{5} - y)`: juxtaposed, an output's name would read as a call.
                    " \\cdot "
                } else if next_paren || next.s.starts_with("\\left(") || after_digits {
                    ""
                } else {
                    " "
                }
            }
        }
    }
}

/// `body` after `sign` (which is mostly empty: then `body` itself, not a copy).
fn signed(sign: &str, body: impl Into<String> + std::fmt::Display) -> String {
    if sign.is_empty() {
        body.into()
    } else {
        format!("{sign}{body}")
    }
}

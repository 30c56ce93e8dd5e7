//! Vectors and matrices as printed: the matrix product by juxtaposition (`W x`; `@` in the
//! input language), the transpose as `ᵀ` (`^\top`, `^T`), the elementwise product of two arrays
//! as `⊙` (`\odot`, `.*`) when the printer knows the shapes, a sum across each row as a product
//! with a column of ones (`Δ 𝟙`, `\mathbf{1}`; `sum(Δ, 2)` in the input language) and one down
//! each column as `𝟙ᵀ Δ`, an entry as `[M]ᵢⱼ`, softmax and log-sum-exp as functions. A stretch
//! (broadcast) prints as its operand: every elementwise operation stretches a 1 to the other
//! operand's dimension, so writing it would only repeat the rule.

use super::*;
use crate::core::tensor::{Axis, TensorOp};

impl Pass<'_> {
    fn is_array(&self, id: Id) -> bool {
        self.shapes
            .and_then(|shapes| shapes.get(&id))
            .is_some_and(|s| !s.is_scalar())
    }

    fn ones(&self) -> &'static str {
        match self.notation {
            Notation::Plain => "1",
            Notation::Text => "𝟙",
            Notation::Latex => "\\mathbf{1}",
        }
    }

    fn transposed(&self, x: &R) -> String {
        let (base, _) = self.wrap(x, Prec::Atom);
        match self.notation {
            Notation::Plain => format!("{base}^T"),
            Notation::Text => format!("{base}ᵀ"),
            Notation::Latex => format!("{base}^{{\\top}}"),
        }
    }

    /// The matrix product of two printed operands.
    fn juxtaposed(&self, a: &R, b: &R) -> String {
        // A product of arrays (`A B`, a scaling `c A`) reads as one: only sums and ⊙ need
        // parentheses. The input language gets them around any product, whose binding with
        // `@` it does not share.
        let need = match self.notation {
            Notation::Plain => Prec::Frac,
            _ => Prec::Product,
        };
        let (a, _) = self.wrap(a, need);
        let (b, _) = self.wrap(b, need);
        match self.notation {
            Notation::Plain => format!("{a} @ {b}"),
            _ => format!("{a} {b}"),
        }
    }

    pub(super) fn tensor(&self, op: TensorOp, xs: &[Id]) -> R {
        let a = self.got(xs[0]);
        match op {
            TensorOp::MatMul => r(self.juxtaposed(a, self.got(xs[1])), Prec::Product),
            TensorOp::Transpose => r(self.transposed(a), Prec::Pow),
            TensorOp::Sum(Some(axis)) if self.notation == Notation::Plain => {
                let n = if axis == Axis::Down { 1 } else { 2 };
                r(format!("sum({}, {n})", a.s), Prec::Atom)
            }
            TensorOp::Sum(Some(Axis::Across)) => {
                let ones = r(self.ones().to_string(), Prec::Atom);
                r(self.juxtaposed(a, &ones), Prec::Product)
            }
            TensorOp::Sum(Some(Axis::Down)) => {
                let ones = r(
                    self.transposed(&r(self.ones().to_string(), Prec::Atom)),
                    Prec::Pow,
                );
                r(self.juxtaposed(&ones, a), Prec::Product)
            }
            TensorOp::Sum(None) => match self.notation {
                Notation::Latex => r(format!("\\textstyle\\sum {}", self.paren(&a.s)), Prec::Atom),
                Notation::Text => r(format!("Σ{}", self.paren(&a.s)), Prec::Atom),
                Notation::Plain => r(format!("sum({})", a.s), Prec::Atom),
            },
            TensorOp::Entry(i, j) => match self.notation {
                Notation::Latex => r(format!("\\left[{}\\right]_{{{i}{j}}}", a.s), Prec::Atom),
                _ => {
                    let (base, _) = self.wrap(a, Prec::Atom);
                    r(format!("{base}[{i}, {j}]"), Prec::Atom)
                }
            },
            TensorOp::Softmax(_) | TensorOp::LogSumExp(_) => {
                let name = if matches!(op, TensorOp::Softmax(_)) {
                    "softmax"
                } else {
                    "logsumexp"
                };
                match self.notation {
                    Notation::Latex => r(
                        format!("\\mathrm{{{name}}}{}", self.paren(&a.s)),
                        Prec::Atom,
                    ),
                    _ => r(format!("{name}({})", a.s), Prec::Atom),
                }
            }
            TensorOp::Broadcast(..) => a.clone(),
        }
    }

    /// A positive number scaling an array: a fraction as a fraction whatever its denominator
    /// (`(1/m)` with m = 64 is `(1/64)`, not `0.015625`), as courses write the batch mean.
    fn coefficient(&self, n: Num) -> String {
        match (n, self.notation) {
            (Num::Rat(p, q), Notation::Latex) if q != 1 => format!("\\frac{{{p}}}{{{q}}}"),
            (Num::Rat(p, q), _) if q != 1 => format!("({p}/{q})"),
            _ => self.wrap(&self.num(n), Prec::Frac).0.into_owned(),
        }
    }

    /// A product of two or more arrays, entry by entry: `c (A ⊙ B)`, the 1×1 factors first as
    /// a coefficient; or one array scaled by numbers, the coefficient first: `(1/4)(A2 − Y)`.
    /// `None` for any other product (a scaling by names prints as products do).
    pub(super) fn hadamard(&self, factors: &[Id]) -> Option<Entry> {
        let names: Vec<Id> = factors
            .iter()
            .copied()
            .filter(|&f| self.graph.as_num(f).is_none())
            .collect();
        // scalars (numbers, `1/m`) times an array, or times a sum over one (`(1/m) Δ𝟙`, a 1×1)
        let array_like = |f: Id| self.is_array(f) || matches!(self.graph.node(f), Node::Tensor(..));
        let lone = names
            .iter()
            .copied()
            .filter(|&f| array_like(f))
            .collect::<Vec<_>>();
        let scaled = factors.len() > 1 && lone.len() == 1;
        let (arrays, scalars): (Vec<Id>, Vec<Id>) = factors
            .iter()
            .partition(|&&f| self.is_array(f) || (scaled && f == lone[0]));
        if arrays.len() < 2 && !scaled {
            return None;
        }
        let op = match self.notation {
            Notation::Plain => " .* ",
            Notation::Text => " ⊙ ",
            Notation::Latex => " \\odot ",
        };
        let joined: Vec<String> = arrays
            .iter()
            .map(|&f| self.wrap(self.got(f), Prec::Frac).0.into_owned())
            .collect();
        let joined = joined.join(op);
        let mut coefficient: Vec<String> = Vec::new();
        // the bases of reciprocal factors: `2 · m⁻¹` is written `(2/m)`, as the courses write
        // the mean
        let mut below: Vec<String> = Vec::new();
        let mut negative = false;
        for &f in &scalars {
            match self.graph.as_num(f) {
                Some(n) if n == Num::MINUS_ONE => negative = !negative,
                Some(n) if n.is_negative() => {
                    negative = !negative;
                    coefficient.push(self.coefficient(n.neg()));
                }
                Some(n) => coefficient.push(self.coefficient(n)),
                _ => match &self.entry(f).den {
                    Some(under) => below.push(under.r.s.clone()),
                    None => coefficient.push(self.wrap(self.got(f), Prec::Frac).0.into_owned()),
                },
            }
        }
        if !below.is_empty() {
            let join = |parts: &[String]| match parts {
                [] => "1".to_string(),
                _ => parts.join(if self.notation == Notation::Plain {
                    "*"
                } else {
                    " "
                }),
            };
            let (over, mut under) = (join(&coefficient), join(&below));
            if below.len() > 1 && self.notation != Notation::Latex {
                under = self.paren(&under);
            }
            coefficient = vec![match self.notation {
                Notation::Latex => format!("\\frac{{{over}}}{{{under}}}"),
                _ => self.paren(&format!("{over}/{under}")),
            }];
        }
        let unsigned = if coefficient.is_empty() {
            if scaled {
                self.got(arrays[0]).clone()
            } else {
                r(joined, Prec::Neg)
            }
        } else {
            let body = if scaled {
                self.wrap(self.got(arrays[0]), Prec::Product).0.into_owned()
            } else {
                self.paren(&joined)
            };
            let join = if self.notation == Notation::Plain {
                "*"
            } else {
                " "
            };
            let sep = match self.notation {
                Notation::Plain => "*",
                _ if body.starts_with('(') => "",
                _ => " ",
            };
            r(
                format!("{}{sep}{body}", coefficient.join(join)),
                Prec::Product,
            )
        };
        let entry = |r: R| Entry {
            r,
            negated: None,
            factors: None,
            den: None,
            simple: NOT_SIMPLE,
            exponents: None,
        };
        if !negative {
            return Some(entry(unsigned));
        }
        let s = self.wrap(&unsigned, Prec::Product).0.into_owned();
        Some(Entry {
            negated: Some(unsigned),
            ..entry(r(format!("{}{s}", self.minus()), Prec::Neg))
        })
    }
}
